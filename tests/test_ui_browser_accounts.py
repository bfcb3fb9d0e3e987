"""Issue #14 in a real browser: `rag ui` with accounts, the real model, two users of different
collections in two browser contexts (their own cookies) asking the same question — each sees only
their own sources. Set up with the real commands an office runs (`rag index --collection`,
`rag user add`). Needs Debian's chromium and the playwright package, like tests/test_ui_browser.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, free_port, stop_process, write_files
from test_collections import NOI_BO, QUESTION
from test_ui_browser import CHROMIUM, _wait_healthy

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
PASSWORDS = {"lan": "Lan-mat-khau-noi-bo-7", "minh": "Minh-mat-khau-chung-8", "quantri": "Quan-tri-vien-mat-khau-9"}


def rag(env: dict, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "rag", *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=600, cwd=env["RAG_HOME"])
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium chromium-driver")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is missing: pip install -e '.[dev]'")
    tmp = tmp_path_factory.mktemp("ui_accounts")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_HOME=str(tmp), RAG_CORPUS=str(write_files(tmp / "corpus", CORPUS)),
               RAG_INDEX_DIR=str(tmp / "index"), RAG_WARM_QUERIES="0", PYTHONPATH=str(REPO))
    rag(env, "-q", "index")
    rag(env, "-q", "index", str(write_files(tmp / "noi_bo", {"bo_nhiem_giam_doc.txt": NOI_BO})),
        "--collection", "noi-bo")
    rag(env, "user", "add", "quantri", "--role", "admin", "--password-stdin", stdin=PASSWORDS["quantri"] + "\n")
    rag(env, "user", "add", "lan", "--role", "reader", "--collection", "noi-bo", "--password-stdin",
        stdin=PASSWORDS["lan"] + "\n")
    rag(env, "user", "add", "minh", "--role", "reader", "--password-stdin", stdin=PASSWORDS["minh"] + "\n")
    port = free_port()
    log = tmp / "server.log"
    with open(log, "w") as out:
        # every interface: allowed because an admin exists, and everyone must sign in
        proc = subprocess.Popen([sys.executable, "-m", "rag", "ui", "--port", str(port), "--host", "0.0.0.0"],
                                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp, start_new_session=True)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", proc, log)
        yield {"url": f"http://127.0.0.1:{port}", "tmp": tmp, "log": log}
    finally:
        stop_process(proc)


def test_two_users_see_only_their_own_sources(office):
    from playwright.sync_api import expect, sync_playwright

    def sign_in(browser, name: str):
        page = browser.new_context(viewport={"width": 1400, "height": 1600}, locale="vi-VN").new_page()
        page.goto(office["url"])
        expect(page.get_by_text("🔐 Đăng nhập")).to_be_visible(timeout=60_000)
        assert page.get_by_test_id("stChatInputTextArea").count() == 0  # nothing but the form
        page.get_by_label("Tên đăng nhập").fill(name)
        page.get_by_label("Mật khẩu").fill(PASSWORDS[name])
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=300_000)
        return page

    def ask(page, question: str):
        chat = page.get_by_test_id("stChatInputTextArea")
        n = page.get_by_test_id("stChatMessage").count()
        chat.fill(question)
        chat.press("Enter")
        expect(page.get_by_test_id("stChatMessage")).to_have_count(n + 2, timeout=120_000)
        return page.get_by_test_id("stChatMessage").last

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            # a wrong password first: refused, still only the form
            stranger = browser.new_context().new_page()
            stranger.goto(office["url"])
            stranger.get_by_label("Tên đăng nhập").fill("minh")
            stranger.get_by_label("Mật khẩu").fill("khong-phai-mat-khau")
            stranger.get_by_role("button", name="Đăng nhập").click()
            expect(stranger.get_by_text("Sai tên đăng nhập hoặc mật khẩu")).to_be_visible(timeout=60_000)
            assert stranger.get_by_test_id("stChatInputTextArea").count() == 0

            lan, minh = sign_in(browser, "lan"), sign_in(browser, "minh")
            lan_sidebar, minh_sidebar = lan.get_by_test_id("stSidebar"), minh.get_by_test_id("stSidebar")
            expect(lan_sidebar.get_by_text("4 tài liệu")).to_be_visible()
            expect(minh_sidebar.get_by_text("3 tài liệu")).to_be_visible()
            expect(minh_sidebar).not_to_contain_text("bo_nhiem_giam_doc")
            assert minh_sidebar.locator("input[type=file]").count() == 0  # readers cannot upload

            lan_answer = ask(lan, QUESTION)
            expect(lan_answer).to_contain_text("Hoàng Quốc Vinh")
            minh_answer = ask(minh, QUESTION)
            expect(minh_answer).not_to_contain_text("Vinh")
            expect(minh_answer).not_to_contain_text("bổ nhiệm")
            for expander in minh_answer.get_by_test_id("stExpander").all():
                expander.locator("summary").click()
                expect(expander).not_to_contain_text("bo_nhiem_giam_doc.txt")

            # the signed cookie keeps lan signed in across a reload; signing out ends it
            lan.reload()
            expect(lan.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=60_000)
            lan.get_by_role("button", name="Đăng xuất").click()
            expect(lan.get_by_text("🔐 Đăng nhập")).to_be_visible(timeout=30_000)
            lan.reload()  # signed out means out: the cookie no longer signs in
            expect(lan.get_by_text("🔐 Đăng nhập")).to_be_visible(timeout=60_000)
            assert lan.get_by_test_id("stChatInputTextArea").count() == 0
        finally:
            browser.close()
    log = office["log"].read_text(errors="replace")
    assert "Traceback" not in log, log
    db = b"".join(p.read_bytes() for p in (office["tmp"] / "index").glob("feedback.sqlite3*"))
    for secret in PASSWORDS.values():
        assert secret not in log and secret.encode() not in db
    key = office["tmp"] / "index" / "session.key"
    assert key.stat().st_mode & 0o777 == 0o600
