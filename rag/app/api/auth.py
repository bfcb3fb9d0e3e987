"""Who is calling the API, and may they change documents (issue #14).

With accounts (`rag user add`), every route but `/healthz` and `/metrics` needs
`Authorization: Bearer <token>` of a user (`rag user token NAME`): a token that is unknown,
revoked or belonged to a removed user is a 401. Without accounts the API is the single-user one it
was: anyone who reaches it may ask, and RAG_API_TOKEN, when set, guards the routes that change
documents. Routes declare `user: User` or `user: Editor` and get the `Account` (None without
accounts).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, Request

from ...accounts.users import Account
from .errors import ApiError


def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Account | None:
    accounts = request.app.state.engine.accounts
    if accounts is None or not accounts.has_accounts():
        return None
    scheme, _, presented = (authorization or "").partition(" ")
    user = accounts.token_account(presented.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise ApiError(401, "Cần mã truy cập hợp lệ / a valid 'Authorization: Bearer <token>' header is "
                            "required (rag user token TÊN)", "unauthorized")
    return user


def may_change_documents(request: Request,
                         authorization: Annotated[str | None, Header()] = None) -> Account | None:
    """An editor or an admin (the route checks the collection); without accounts, with
    RAG_API_TOKEN set, only a caller holding it."""
    user = caller(request, authorization)
    if user is not None:
        if not user.may_edit_any:
            raise ApiError(403, f"Không có quyền thay đổi tài liệu / not allowed to change documents "
                                f"(vai trò / role {user.role})", "forbidden")
        return user
    token = request.app.state.engine.pipeline.settings.api_token
    if token and not secrets.compare_digest((authorization or "").encode(), f"Bearer {token}".encode()):
        raise ApiError(401, "Cần mã truy cập / a valid 'Authorization: Bearer <RAG_API_TOKEN>' header "
                            "is required to change documents", "unauthorized")
    return None


User = Annotated[Account | None, Depends(caller)]
Editor = Annotated[Account | None, Depends(may_change_documents)]
