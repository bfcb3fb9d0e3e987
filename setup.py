"""Only what pyproject.toml cannot say: the seed documents (seeds/) ship inside the wheel as
`rag/_seeds/`, the default corpus of an installed package (rag.config.default_corpus), and the
chat page (ui/app.py) as `rag/_ui/app.py` for `rag ui`; data files inside `rag/` (the answer scorer's
weights, SQL migrations) are listed so the wheel carries them. The checkout keeps them at seeds/ and ui/,
where tests, eval and bench find them."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["rag", "rag.*"]), "rag._seeds", "rag._ui"],
    package_dir={"rag._seeds": "seeds", "rag._ui": "ui"},
    package_data={"rag._seeds": ["*.txt"], "rag._ui": ["app.py"],
                  # the fitted answer scorer and the PostgreSQL store's migrations
                  "rag.answerers": ["scorer_weights.json"], "rag.store": ["migrations/*.sql"]},
)
