"""Staff accounts, roles, collections, API tokens, sessions and the audit log (issue #14).

Everything lives in the SQLite database that already holds the chat's feedback
(`Settings.feedback_path`), so one file is backed up and one WAL journal serialises writers. The
front ends (`rag user`, `rag serve`, the Streamlit page) call `AccountStore` and hand the signed-in
`Account`'s readable collections to `Pipeline`, which enforces them inside retrieval.

With no account at all the program stays the single-user tool it was: `rag ui` on localhost
needs no login (`AccountStore.has_accounts()` is what every front end checks first).
"""
