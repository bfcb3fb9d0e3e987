"""End to end in a real browser: `rag ui` on a free localhost port, driven by Debian's headless
Chromium through Playwright, with the real model and the seed documents.

Needs the Debian packages `chromium` and `chromium-driver` (`bash install.sh --dev` installs them
when run as root) and the `playwright` Python package; no browser is ever downloaded. The
screenshot is saved to tests/artifacts/ui_e2e.png (gitignored).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port, stop_process

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(__file__).parent / "artifacts"

NEW_DOC = "\n".join([
    "Điện Biên đẩy mạnh sử dụng chữ ký số",
    "Cập nhật: 12/09/2024 08:00",
    "Tính đến hết tháng 8 năm 2024, tỉnh Điện Biên đã cấp 4.321 chứng thư chữ ký số cho cán bộ, công chức, "
    "viên chức các cấp, giúp việc xử lý văn bản điện tử nhanh và an toàn hơn.",
    "Tỉnh đặt mục tiêu 100% hồ sơ công việc cấp tỉnh được xử lý trên môi trường mạng vào cuối năm 2025, "
    "trừ hồ sơ thuộc phạm vi bí mật nhà nước.",
]) + "\n"


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"rag ui exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"rag ui did not answer on {url} within {timeout:.0f}s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium and chromium-driver "
                    "(bash install.sh --dev as root, or apt-get install chromium chromium-driver)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is missing: "
                        "pip install -e '.[dev]'")
    tmp = tmp_path_factory.mktemp("ui")
    port = free_port()
    url = f"http://localhost:{port}"
    env = {**os.environ, "RAG_CORPUS": str(REPO / "seeds"), "RAG_INDEX_DIR": str(tmp / "index"),
           "RAG_FEEDBACK_DB": str(tmp / "feedback.sqlite3")}
    log = tmp / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "rag", "ui", "--port", str(port)], env=env,
                                stdout=out, stderr=subprocess.STDOUT, cwd=tmp, start_new_session=True)
    try:
        _wait_healthy(url, proc, log)
        yield {"url": url, "tmp": tmp, "log": log}
    finally:
        stop_process(proc)


def test_chat_in_a_real_browser(server):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    new_doc = server["tmp"] / "dien_bien.txt"
    new_doc.write_text(NEW_DOC, encoding="utf-8")
    bad_doc = server["tmp"] / "bang_tinh.xlsx"
    bad_doc.write_bytes(b"PK\x03\x04 not something we read")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1900}, locale="vi-VN")
            page.goto(server["url"])
            # first page load of the process: model + index (built from seeds/) load with progress
            expect(page.get_by_text("Đang khởi động trợ lý")).to_be_visible(timeout=30_000)
            chat = page.get_by_test_id("stChatInputTextArea")
            expect(chat).to_be_visible(timeout=240_000)
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar.get_by_text("5 tài liệu")).to_be_visible()

            def ask(question: str) -> None:
                n = page.get_by_test_id("stChatMessage").count()
                chat.fill(question)
                chat.press("Enter")
                expect(page.get_by_test_id("stChatMessage")).to_have_count(n + 2, timeout=60_000)

            def last_answer():
                return page.get_by_test_id("stChatMessage").last

            # 1. the Lào Cai question: 1.305 with a citation that opens to the highlighted passage
            ask("Lào Cai tích hợp bao nhiêu dịch vụ công?")
            answer = last_answer()
            expect(answer).to_contain_text("1.305")
            expect(answer.locator("sup", has_text="[1]")).to_be_visible()
            expect(answer.get_by_text("Nguồn", exact=True)).to_be_visible()
            source = answer.get_by_test_id("stExpander").first
            expect(source).to_contain_text("[1]")
            source.locator("summary").click()
            mark = source.locator("mark")
            expect(mark).to_be_visible()
            expect(mark).to_contain_text("1.305")
            expect(source).to_contain_text("000_f6b367151ac29e37.txt")
            page.wait_for_timeout(800)  # let the expander finish opening
            page.screenshot(path=str(ARTIFACTS / "ui_e2e_citation.png"))

            # 2. a follow-up is resolved into a standalone question, shown to the user
            ask("Còn Thái Nguyên thì sao?")
            expect(last_answer()).to_contain_text(
                "Câu hỏi được hiểu là: Thái Nguyên tích hợp bao nhiêu dịch vụ công?")

            # 3. an honest "not found", styled apart, with related passages
            ask("Yên Bái tích hợp bao nhiêu dịch vụ công?")
            expect(last_answer().get_by_test_id("stAlertContentWarning")).to_contain_text(
                "Không tìm thấy thông tin này trong tài liệu.")
            expect(last_answer().get_by_text("Đoạn liên quan nhất")).to_be_visible()

            # 4. uploads: a bad file gets a clear message, a good one is answerable at once
            sidebar.locator("input[type=file]").set_input_files(str(bad_doc))
            expect(sidebar.get_by_text("không được hỗ trợ")).to_be_visible(timeout=30_000)
            # the rerun swaps in a fresh uploader; the old one lingers until the run ends
            expect(sidebar.locator("input[type=file]")).to_have_count(1, timeout=30_000)
            sidebar.locator("input[type=file]").set_input_files(str(new_doc))
            expect(sidebar.get_by_text("Có thể hỏi ngay")).to_be_visible(timeout=120_000)
            expect(sidebar.get_by_text("6 tài liệu")).to_be_visible()
            ask("Điện Biên đã cấp bao nhiêu chứng thư chữ ký số?")
            expect(last_answer()).to_contain_text("4.321")
            expect(last_answer().get_by_test_id("stExpander").first).to_contain_text(
                "Điện Biên đẩy mạnh sử dụng chữ ký số")

            # 5. 👎 on that answer is stored
            last_answer().get_by_role("radio", name="Thumbs down").click()
            expect(last_answer().get_by_text("Góp ý thêm")).to_be_visible()
            deadline = time.monotonic() + 10
            from rag.app.feedback import DOWN, FeedbackStore

            store_path = server["tmp"] / "feedback.sqlite3"
            while time.monotonic() < deadline and not (store_path.exists() and FeedbackStore(store_path).items()):
                time.sleep(0.2)
            [item] = FeedbackStore(store_path).items()
            assert item.rating == DOWN and "4.321" in item.answer

            # 6. a second tab shares the index: it sees the upload and answers from it
            other = browser.new_page(viewport={"width": 1400, "height": 1000})
            other.goto(server["url"])
            other_chat = other.get_by_test_id("stChatInputTextArea")
            expect(other_chat).to_be_visible(timeout=60_000)
            expect(other.get_by_test_id("stSidebar").get_by_text("6 tài liệu")).to_be_visible()
            other_chat.fill("Điện Biên đặt mục tiêu gì cho năm 2025?")
            other_chat.press("Enter")
            expect(other.get_by_test_id("stChatMessage").last).to_contain_text("100%", timeout=60_000)
            other.close()

            # the first tab after all of it: history, not-found, upload messages, feedback
            page.screenshot(path=str(ARTIFACTS / "ui_e2e.png"))
        finally:
            browser.close()
    assert (ARTIFACTS / "ui_e2e.png").stat().st_size > 10_000
    log = server["log"].read_text(errors="replace")
    assert "Traceback" not in log, log

