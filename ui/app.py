"""Streamlit chat for staff: a thin layer over `rag.pipeline`, run with `rag ui`.

Everything that answers, resolves follow-ups, stores feedback or indexes uploads lives in the
library (`rag.pipeline`, `rag.app.feedback`, `rag.app.uploads`); this file only lays
it out. The model and index load once per process (`st.cache_resource`); a lock serialises
queries and uploads between the sessions (tabs) that share them.

Accounts (issue #14, `rag.accounts`): once one exists, the page shows only a sign-in form until a
user signs in; then questions search only the collections they may read, and the sidebar lists
only those documents, with upload and delete controls only where their role allows. The signed
session (HMAC, expiring) is kept in the tab's state and in a cookie, and checked on every run: a
removed user or a changed password ends it. With no account the page is the single-user tool.
"""

from __future__ import annotations

import html
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date

import streamlit as st

from rag.accounts.access import open_accounts, session_account, session_signer
from rag.accounts.sessions import SessionSigner
from rag.accounts.users import Account, AccountStore
from rag.app.feedback import DOWN, UP, FeedbackStore
from rag.app.uploads import UPLOAD_SUFFIXES, add_upload, remove_documents
from rag.config import Settings, load_settings
from rag.errors import AccessError, RagError
from rag.pipeline import DocumentRecord, Pipeline, Result, validate_question
from rag.types import DEFAULT_COLLECTION, Answer, Citation, SearchFilter

EXAMPLES = [
    "Lào Cai tích hợp bao nhiêu dịch vụ công?",
    "Còn Thái Nguyên thì sao?",
    "Đề án 06 đã hoàn thành bao nhiêu nhiệm vụ?",
]


# ------------------------------------------------------------------ shared, once per process

@dataclass
class Engine:
    pipeline: Pipeline
    feedback: FeedbackStore
    lock: threading.RLock = field(default_factory=threading.RLock)
    ready: bool = False
    _live: tuple[object, frozenset[str]] = (None, frozenset())

    def live_chunks(self) -> frozenset[str]:
        """Chunk ids of the current index version: past answers quoting a document removed since
        are not shown again."""
        with self.lock:
            index = self.pipeline.ensure_index()
            if self._live[0] != index.path:
                self._live = (index.path, frozenset(index.chunk_ids()))
            return self._live[1]


@st.cache_resource(show_spinner=False)
def get_engine(key: str, _settings: Settings) -> Engine:  # key: the settings, hashed by Streamlit
    return Engine(Pipeline(_settings), FeedbackStore(_settings.feedback_path))


def start_engine(settings: Settings) -> Engine:
    """The shared engine; the first page load of the process shows each loading step."""
    engine = get_engine(repr(settings), settings)
    if engine.ready:
        return engine
    with engine.lock:
        if not engine.ready:
            with st.status("Đang khởi động trợ lý (chỉ lần đầu)…", expanded=True) as box:
                try:
                    st.write("⏳ Nạp mô hình nhúng tiếng Việt…")
                    _ = engine.pipeline.embedder
                    if engine.pipeline.has_index():
                        st.write("⏳ Nạp chỉ mục tài liệu…")
                    else:
                        st.write(f"⏳ Chưa có chỉ mục: đang lập chỉ mục {settings.corpus.name}/ "
                                 "(chỉ lần đầu, khoảng nửa phút)…")
                    engine.pipeline.ensure_index()
                    engine.pipeline.expect_many_questions()  # faster warm queries, loaded in background
                except Exception:
                    box.update(label="Không khởi động được", state="error", expanded=True)
                    raise
                box.update(label="Đã sẵn sàng", state="complete", expanded=False)
            engine.ready = True
    return engine


# ------------------------------------------------------------------ signing in

COOKIE = "rag_session"
ROLE_LABELS = {"reader": "người đọc", "editor": "biên tập viên", "admin": "quản trị viên"}


def _set_cookie(value: str, seconds: int) -> None:
    """Keep the signed session across a page reload (Streamlit has no API that sets a cookie);
    over HTTPS the browser sends it back only over HTTPS."""
    secure = "; Secure" if str(st.context.url or "").startswith("https://") else ""
    st.html(f"<script>document.cookie = '{COOKIE}={value}; path=/; max-age={seconds}; SameSite=Strict{secure}';"
            "</script>", unsafe_allow_javascript=True)


def reset_conversation() -> None:
    """Another user (or nobody) in this tab: nothing of the previous one's chat, filters or
    messages may stay on screen or feed a follow-up."""
    state = st.session_state
    for key, value in (("turns", []), ("pending", []), ("upload_msgs", []), ("doc_msgs", []),
                       ("flt_docs", []), ("confirm_delete", None)):
        state[key] = value


def signed_in(settings: Settings) -> tuple[AccountStore | None, Account | None]:
    """(None, None) for the single-user tool (no account exists). Otherwise the store and the
    signed-in account; with nobody signed in, the sign-in form is shown and the run stops."""
    store = open_accounts(settings)
    if not store.has_accounts():
        return None, None
    signer = session_signer(settings)
    state = st.session_state
    token = state.get("session_token")
    if token is None and not state.get("signed_out"):
        token = st.context.cookies.get(COOKIE)
    account = session_account(store, signer, token)
    if account is None:
        if state.get("session_user"):  # expired, removed or password changed meanwhile
            reset_conversation()
            state.session_user = None
            state.login_notice = "Phiên đăng nhập đã hết hạn hoặc không còn hiệu lực; hãy đăng nhập lại."
        state.session_token = None
        if token or state.pop("clear_cookie", False):
            _set_cookie("", 0)
        login_form(store, signer, settings)
        st.stop()
    if state.get("session_user") != account.name:
        reset_conversation()
        state.session_user = account.name
    state.session_token = token
    if state.pop("new_session", False):
        _set_cookie(token, int(settings.session_hours * 3600))
    return store, account


def login_form(store: AccountStore, signer: SessionSigner, settings: Settings) -> None:
    state = st.session_state
    st.subheader("🔐 Đăng nhập")
    st.caption("Dùng tài khoản do quản trị viên cấp (rag user add). Phiên đăng nhập kéo dài "
               f"{settings.session_hours:g} giờ.")
    if state.get("login_notice"):
        st.info(state.login_notice)
    with st.form("login"):
        st.text_input("Tên đăng nhập", key="login_name", autocomplete="username")
        st.text_input("Mật khẩu", type="password", key="login_password", autocomplete="current-password")
        st.form_submit_button("Đăng nhập", type="primary", on_click=_try_login, args=(store, signer))
    if state.get("login_error"):
        st.error(state.login_error)


def _try_login(store: AccountStore, signer: SessionSigner) -> None:
    """The submit callback: it runs before the page is drawn again, so the password can be
    wiped from the tab's state at once (a widget's value may only be changed there)."""
    state = st.session_state
    name, password = state.get("login_name", ""), state.get("login_password", "")
    state.login_password = ""
    try:
        account = store.login(name, password, f"ui ip={st.context.ip_address or '-'}")
    except AccessError as e:
        state.login_error = str(e)
        return
    state.session_token = signer.issue(account.name, account.password_tag)
    state.signed_out = False
    state.new_session = True
    state.login_notice = state.login_error = None


def sign_out(store: AccountStore, account: Account) -> None:
    state = st.session_state
    store.end_sessions(account.name)  # the cookie, wherever it was copied, is dead now
    reset_conversation()
    state.session_token = None
    state.session_user = None
    state.signed_out = True  # the cookie read when the tab connected is not used again
    state.clear_cookie = True


# ------------------------------------------------------------------ rendering helpers

def _esc(text: str) -> str:
    """HTML-escape, and keep Streamlit from reading `$…$` as maths."""
    return html.escape(text).replace("$", "&#36;").replace("\n", "<br>")


def answer_html(answer: Answer) -> str:
    body = _esc(answer.answer)
    body = re.sub(r"\[(\d+)\]", r'<sup style="font-weight:600;color:#1c62b9">[\1]</sup>', body)
    return f'<div style="font-size:1.05rem;line-height:1.6">{body}</div>'


def passage_html(c: Citation) -> str:
    """The source card: title, date, file, and the passage with the quoted sentence marked."""
    text, quote = c.text, (c.quote or "").strip()
    pos = text.find(quote) if quote else -1
    if pos >= 0:
        body = (_esc(text[:pos]) + '<mark style="background:#fff3a3;padding:0 2px">'
                + _esc(quote) + "</mark>" + _esc(text[pos + len(quote):]))
    else:
        body = _esc(text)
    meta = [f"📅 {c.date}" if c.date else "📅 không rõ ngày", f"📄 {_esc(c.doc)}"]
    if c.page:
        meta.append(f"trang {c.page}")
    if getattr(c, "doc_number", None):  # legal documents: "Số 33/2022/NQ-HĐND"
        meta.append(_esc(f"số {c.doc_number}"))
    if getattr(c, "ocr", False):
        meta.append("⚠️ nhận dạng từ bản scan (OCR): câu trích có thể sai chữ")
    return (
        '<div style="border:1px solid #d0d7de;border-radius:8px;padding:0.8rem 1rem;'
        'background:#fbfcfd">'
        f'<div style="font-weight:600;margin-bottom:0.2rem">{_esc(c.title or c.doc)}</div>'
        f'<div style="color:#57606a;font-size:0.85rem;margin-bottom:0.6rem">{" · ".join(meta)}</div>'
        f'<div style="line-height:1.6">{body}</div></div>'
    )


def _short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1].rstrip() + "…"


def source_cards(citations: list[Citation], by_passage: bool = False) -> None:
    """One expander per source; it opens to the card. Related passages are labelled by their
    opening words (several may come from one document), cited ones by document title."""
    for c in citations:
        if by_passage:
            label = f"[{c.n}] {_short(c.text, 80)} ({c.doc})"
        else:
            label = f"[{c.n}] {_short(c.title or c.doc, 90)}" + (f" — {c.date}" if c.date else "")
        with st.expander(label):
            st.markdown(passage_html(c), unsafe_allow_html=True)


def save_rating(engine: Engine, turn: dict) -> None:
    value = st.session_state.get(f"fb-{turn['id']}")
    if value is None:
        engine.feedback.remove(turn["id"])
        return
    who = st.session_state.get("session_user")
    engine.feedback.record(turn["id"], UP if value == 1 else DOWN, turn["answer"], question=turn["question"],
                           session=f"{who}/{st.session_state.session_id}" if who else st.session_state.session_id)


def save_comment(engine: Engine, turn: dict) -> None:
    comment = st.session_state.get(f"cm-{turn['id']}", "")
    if engine.feedback.set_comment(turn["id"], comment):
        st.session_state[f"cm-saved-{turn['id']}"] = True


def feedback_row(engine: Engine, turn: dict) -> None:
    tid = turn["id"]
    st.feedback("thumbs", key=f"fb-{tid}", on_change=save_rating, args=(engine, turn))
    if st.session_state.get(f"fb-{tid}") is not None:
        with st.form(key=f"form-{tid}", border=False, enter_to_submit=True):
            st.text_input("Góp ý thêm (không bắt buộc)", key=f"cm-{tid}",
                          placeholder="Ví dụ: số liệu đúng là… / cần trích văn bản khác…")
            st.form_submit_button("Gửi góp ý", on_click=save_comment, args=(engine, turn))
        if st.session_state.get(f"cm-saved-{tid}"):
            st.caption("✅ Đã lưu góp ý. Cảm ơn bạn!")


def render_turn(engine: Engine, turn: dict) -> None:
    answer: Answer = turn["answer"]
    with st.chat_message("user"):
        st.markdown(_esc(turn["question"]), unsafe_allow_html=True)
    with st.chat_message("assistant"):
        if turn["standalone"] != turn["question"]:
            st.caption(f"🔄 Câu hỏi được hiểu là: **{_esc(turn['standalone'])}**")
        if answer.rewritten_question:
            st.caption(f"✍️ Đã thêm dấu: *{_esc(answer.rewritten_question)}*")
        if answer.fallback_reason:
            st.caption(f"⚠️ Không dùng câu trả lời của mô hình ngôn ngữ ({_esc(answer.fallback_reason)}); "
                       "dưới đây là câu trích nguyên văn.")
        elif answer.answerer == "llm" and answer.found:
            st.caption("🤖 Do mô hình ngôn ngữ viết; số liệu, ngày, tên đã được đối chiếu với nguồn.")
        live = engine.live_chunks()
        if answer.found and any(c.chunk_id not in live for c in answer.citations):
            st.caption("🗑️ Tài liệu nguồn của câu trả lời này đã được gỡ khỏi chỉ mục; hãy hỏi lại.")
        elif answer.found:
            st.markdown(answer_html(answer), unsafe_allow_html=True)
            st.markdown("**Nguồn**")
            source_cards(answer.citations)
            if answer.related:
                st.caption(f"Đoạn liên quan khác: {len(answer.related)} (không dùng để trả lời)")
        else:
            st.warning(f"**{_esc(answer.answer)}** Các tài liệu đã lập chỉ mục không nêu thông tin này; "
                       "dưới đây là những đoạn gần nhất để bạn tự kiểm tra.", icon="🔍")
            related = [c for c in answer.related[:3] if c.chunk_id in live]
            if related:
                st.markdown("**Đoạn liên quan nhất**")
                source_cards(related, by_passage=True)
        if turn.get("scope"):
            st.caption(f"Phạm vi: {turn['scope']}")
        feedback_row(engine, turn)


# ------------------------------------------------------------------ sidebar

ANSWERER_LABELS = {"extractive": "Trích nguyên văn", "llm": "Mô hình ngôn ngữ (LLM)"}


def sidebar(engine: Engine, settings: Settings, store: AccountStore | None = None,
            account: Account | None = None) -> tuple[int, SearchFilter | None, str, str]:
    readable = account.readable if account else None
    try:
        docs = engine.pipeline.documents(readable)
    except RagError as e:
        st.sidebar.error(str(e))
        docs = {}
    with st.sidebar:
        if store is not None and account is not None:
            seen = "tất cả" if readable is None else ", ".join(sorted(readable))
            st.markdown(f"👤 **{_esc(account.name)}** · {ROLE_LABELS.get(account.role, account.role)}  \n"
                        f"<small>Bộ sưu tập được đọc: {_esc(seen)}</small>", unsafe_allow_html=True)
            st.button("Đăng xuất", key="sign-out", on_click=sign_out, args=(store, account))
        st.header("📚 Tài liệu đã lập chỉ mục")
        st.caption(f"{len(docs)} tài liệu · {sum(d.chunks for d in docs.values())} đoạn")
        with st.container(height=260 if len(docs) > 4 else "content"):
            for doc_id, d in sorted(docs.items(), key=lambda kv: kv[1].date or "", reverse=True):
                text, button = st.columns([0.86, 0.14], vertical_alignment="center")
                where = f" · 🗂️ {_esc(d.collection)}" if account is not None else ""
                text.markdown(f"**{_esc(d.title or doc_id)}**  \n"
                              f"<small>{d.date or 'không rõ ngày'} · {d.chunks} đoạn · "
                              f"{_esc(doc_id)}{where}</small>", unsafe_allow_html=True)
                if account is None or account.may_edit(d.collection):
                    button.button("🗑️", key=f"del-{doc_id}", help="Gỡ tài liệu này khỏi chỉ mục",
                                  on_click=_ask_to_delete, args=(doc_id,))
        delete_section(engine, docs, account)

        st.header("🔎 Phạm vi tìm kiếm")
        chosen = st.multiselect(
            "Chỉ tìm trong các tài liệu", options=list(docs), key="flt_docs",
            format_func=lambda d: (docs[d].title if d in docs else d)[:60] or d, placeholder="Tất cả tài liệu")
        use_dates = st.toggle("Lọc theo ngày của tài liệu", key="flt_use_dates")
        date_from = date_to = None
        if use_dates:
            c1, c2 = st.columns(2)
            date_from = c1.date_input("Từ ngày", value=date(2021, 1, 1), format="DD/MM/YYYY",
                                      key="flt_from")
            date_to = c2.date_input("Đến ngày", value=date.today(), format="DD/MM/YYYY", key="flt_to")
            st.caption("Tài liệu không rõ ngày bị loại khi lọc theo ngày.")
            if date_from and date_to and date_from > date_to:
                st.warning("“Từ ngày” sau “Đến ngày”: không tài liệu nào khớp.")
        k = st.slider("Số nguồn truy xuất (k)", 1, 10, value=min(settings.k, 10), key="k")
        answerer = st.radio("Cách trả lời", list(ANSWERER_LABELS), format_func=ANSWERER_LABELS.get,
                            index=list(ANSWERER_LABELS).index(settings.answerer), key="answerer")
        if answerer == "llm":
            st.caption(f"`{_esc(settings.llm_model)}` tại {_esc(settings.llm_base_url)}. Câu trả lời "
                       "không khớp nguồn sẽ được thay bằng câu trích nguyên văn.")

        if account is None or account.may_edit_any:
            st.header("➕ Thêm tài liệu")
            upload_section(engine, settings.max_file_mb, upload_targets(store, account, docs))

        st.divider()
        counts = engine.feedback.counts()
        st.caption(f"Góp ý đã nhận: 👍 {counts['up']} · 👎 {counts['down']}")
        if st.button("🗑️ Xóa hội thoại", width="stretch"):
            st.session_state.turns = []
            st.rerun()

    flt = None
    scope = []
    if chosen:
        scope.append(f"{len(chosen)} tài liệu đã chọn")
    if date_from or date_to:
        scope.append(f"ngày {date_from:%d/%m/%Y} – {date_to:%d/%m/%Y}")
    if chosen or date_from or date_to:
        flt = SearchFilter(doc_ids=set(chosen) or None,
                           date_from=date_from.isoformat() if date_from else None,
                           date_to=date_to.isoformat() if date_to else None)
    return k, flt, "; ".join(scope), answerer


def _ask_to_delete(doc_id: str) -> None:
    st.session_state.confirm_delete = doc_id
    st.session_state.doc_msgs = []


def delete_section(engine: Engine, docs: dict[str, DocumentRecord], account: Account | None = None) -> None:
    """The confirm step of a delete button: removing is destructive, so it is asked once more.
    `docs` are the documents the user may read; the pipeline checks the edit right again."""
    state = st.session_state
    doc_id = state.get("confirm_delete")
    if doc_id and doc_id in docs and (account is None or account.may_edit(docs[doc_id].collection)):
        title = docs[doc_id].title or doc_id
        st.warning(f"Gỡ “{_esc(title)}” ({_esc(doc_id)}) khỏi chỉ mục? Tài liệu sẽ không còn được dùng để "
                   "trả lời hay trích dẫn. Tệp tải lên qua giao diện cũng bị xóa.", icon="🗑️")
        yes, no = st.columns(2)
        if yes.button("Gỡ tài liệu", type="primary", key="confirm-delete-yes"):
            try:
                with st.spinner(f"Đang gỡ “{title}”…"), engine.lock:
                    if account is None:
                        remove_documents(engine.pipeline, [doc_id])
                    else:
                        remove_documents(engine.pipeline, [doc_id], account.readable, account.editable)
                        audit(account, "remove", f"{doc_id} collection={docs[doc_id].collection}")
            except (RagError, OSError) as e:
                state.doc_msgs = [("error", f"Không gỡ được “{title}”: {e}")]
            else:
                state.doc_msgs = [("success", f"Đã gỡ “{title}” khỏi chỉ mục.")]
                state.flt_docs = [d for d in state.get("flt_docs", []) if d != doc_id]
            state.confirm_delete = None
            st.rerun()
        if no.button("Hủy", key="confirm-delete-no"):
            state.confirm_delete = None
            st.rerun()
    for kind, msg in state.get("doc_msgs", []):
        (st.success if kind == "success" else st.error)(msg)


def upload_targets(store: AccountStore | None, account: Account | None,
                   docs: dict[str, DocumentRecord]) -> list[str]:
    """The collections the user may add to, `chung` first; empty for the single-user tool."""
    if account is None:
        return []
    if account.editable is None:  # admin: every collection there is
        names = (store.known_collections() if store else set()) | {d.collection for d in docs.values()}
    else:
        names = set(account.editable)
    return sorted(names, key=lambda c: (c != DEFAULT_COLLECTION, c))


def upload_section(engine: Engine, max_mb: float, targets: list[str] | None = None) -> None:
    """Index each uploaded file once. A rerun (a question sent meanwhile, a click) stops the
    script at its next Streamlit call, possibly right after indexing and while the uploader still
    holds the file: the file's id is remembered before indexing, and the outcome is recorded before
    any Streamlit call, so the new run neither indexes it again nor loses the message."""
    state = st.session_state
    target = None
    if targets:
        target = st.selectbox("Thêm vào bộ sưu tập", targets, key="upload_collection")
    files = st.file_uploader(
        "Tệp văn bản hoặc PDF có chữ; tài liệu mới hỏi được ngay sau khi thêm.",
        accept_multiple_files=True, key=f"uploader-{state.uploader_key}")
    if files:
        for f in files:
            if f.file_id in state.uploaded:
                continue
            state.uploaded.add(f.file_id)
            try:
                with st.spinner(f"Đang lập chỉ mục “{f.name}”…"), engine.lock:
                    account = current_account()
                    if account is None:
                        res = add_upload(engine.pipeline, f.name, f.getvalue())
                    else:
                        res = add_upload(engine.pipeline, f.name, f.getvalue(), target, account.editable)
                        audit(account, "upload", f"{res.doc_id} collection={target}")
                    verb = "Đã cập nhật" if res.replaced else "Đã thêm"
                    state.upload_msgs.append(
                        ("success", f"{verb} “{res.title or res.doc_id}” ({res.chunks} đoạn). Có thể hỏi ngay."))
                    state.upload_msgs += [("warning", f"“{f.name}”: {w}") for w in res.warnings]
            except RagError as e:
                state.upload_msgs.append(("error", str(e)))
            except OSError as e:  # disk full, permissions
                state.upload_msgs.append(("error", f"Không lưu được “{f.name}”: lỗi hệ thống tệp ({e})."))
        state.uploader_key += 1  # a fresh, empty uploader; the messages below stay
        st.rerun()  # the document list above is redrawn; questions waiting in `pending` stay
    show = {"success": (st.success, "✅"), "warning": (st.warning, "⚠️"), "error": (st.error, "🚫")}
    for kind, msg in state.upload_msgs[-4:]:
        element, icon = show[kind]
        element(msg, icon=icon)
    limit = f" (tối đa {max_mb:g} MB mỗi tệp)" if max_mb > 0 else ""
    st.caption("Nhận: " + ", ".join(UPLOAD_SUFFIXES) + limit)


# ------------------------------------------------------------------ answering

def answer_prompt(engine: Engine, prompt: str, question: str, k: int, flt: SearchFilter | None,
                  answerer: str, readable: frozenset[str] | None = None) -> Result:
    """The extractive answer under the engine lock. An LLM's: search under the lock, then the reply
    streams outside it (other tabs are not kept waiting) into a draft that the checked answer
    replaces once it is complete. `readable`: the signed-in user's collections (None: all)."""
    if answerer == "extractive":
        with st.spinner("Đang tìm trong tài liệu…"), engine.lock:
            if readable is None:
                return engine.pipeline.run(question, k=k, flt=flt, answerer=answerer)
            return engine.pipeline.run(question, k=k, flt=flt, answerer=answerer, readable=readable)
    with st.spinner("Đang tìm trong tài liệu…"), engine.lock:
        live = engine.pipeline.stream(question, k=k, flt=flt, answerer=answerer, readable=readable)
    draft = st.empty()
    with draft.container():
        with st.chat_message("user"):
            st.markdown(_esc(prompt), unsafe_allow_html=True)
        with st.chat_message("assistant"), st.spinner("Mô hình đang viết câu trả lời…"):
            st.write_stream(live)
    draft.empty()
    return live.result()


# ------------------------------------------------------------------ page

def current_account() -> Account | None:
    """The account this run signed in (None: the single-user tool)."""
    return st.session_state.get("account")


def audit(account: Account, action: str, detail: str) -> None:
    open_accounts(load_settings(show_progress=False)).audit.record(account.name, action, f"ui {detail}".strip())


def main() -> None:
    st.set_page_config(page_title="Hỏi đáp chuyển đổi số", page_icon="📄", layout="wide")
    state = st.session_state
    state.setdefault("turns", [])
    state.setdefault("session_id", uuid.uuid4().hex)
    state.setdefault("upload_msgs", [])
    state.setdefault("uploader_key", 0)
    state.setdefault("uploaded", set())  # file ids already indexed in this session
    state.setdefault("pending", [])  # questions sent and not yet answered

    st.title("Hỏi đáp chính sách chuyển đổi số")
    st.caption("Câu trả lời được trích nguyên văn từ tài liệu, kèm nguồn [n] mở ra xem được. "
               "Khi tài liệu không nói đến, trợ lý trả lời “Không tìm thấy”.")
    try:
        settings = load_settings(show_progress=False)
        store, account = signed_in(settings)  # nobody signed in: the sign-in form, and the run stops
        engine = start_engine(settings)
    except RagError as e:
        st.error(f"Không khởi động được: {e}")
        st.stop()
    state.account = account

    # read before the sidebar: an upload there ends its run with a rerun, and a question sent
    # meanwhile must survive it (it waits in `pending` until answered)
    sent = (st.chat_input("Nhập câu hỏi, ví dụ: Lào Cai tích hợp bao nhiêu dịch vụ công?") or "").strip()
    if sent:
        state.pending.append(sent)
    k, flt, scope, answerer = sidebar(engine, settings, store, account)

    if not state.turns and not state.pending:
        st.info("Hãy đặt câu hỏi bằng tiếng Việt (có dấu hoặc không dấu). Ví dụ:  \n"
                + "  \n".join(f"• {q}" for q in EXAMPLES), icon="💬")
    for turn in state.turns:
        render_turn(engine, turn)

    while state.pending:
        prompt = state.pending[0]
        try:
            question = validate_question(prompt)
            resolution = engine.pipeline.standalone(question, [t["standalone"] for t in state.turns])
            result = answer_prompt(engine, prompt, resolution.question, k, flt, answerer,
                                   account.readable if account else None)
            if account is not None:
                audit(account, "ask", resolution.question if settings.audit_questions else "")
        except (RagError, OSError) as e:
            state.pending.pop(0)
            with st.chat_message("user"):
                st.markdown(_esc(prompt), unsafe_allow_html=True)
            st.error(str(e))
            continue
        turn = {"id": uuid.uuid4().hex, "question": question, "standalone": resolution.question,
                "answer": result.answer, "k": k, "scope": scope}
        state.turns.append(turn)  # with the next line, before any Streamlit call: a rerun
        state.pending.pop(0)  # cannot answer it twice or drop it
        render_turn(engine, turn)

main()
