"""End to end in a real browser: `streamlit run app.py`, driven by Playwright in Debian's chromium.

Pastes a notice, answers a question, drafts, sees the highlighted findings, edits a line, re-checks,
downloads the .docx and opens it, then restarts the server and reopens the case. Screenshots and the
timings (page ready after start, offline re-check of a 600-word letter) go to test-artifacts/.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlparse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

NOTICE = (
    "Hello,\n\nWe are reaching out because your seller account has an Order Defect Rate of 2.35% "
    "(target: under 1%).\nASIN: B07PQRS123\nOrder ID: 112-3344556-7788990\n\n"
    "How do I reactivate my account? Send a plan of action within 17 days.\n"
)

if not CHROMIUM:
    if os.environ.get("CI"):
        raise RuntimeError("chromium is not installed; .ci/run installs it (apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install -y chromium chromium-driver)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, home: Path, port: int):
        self.home, self.port, self.proc = home, port, None
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> float:
        env = {**os.environ, "POA_HOME": str(self.home)}
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        return time.monotonic() - started
            except OSError:
                time.sleep(0.02)  # fine-grained: this wait is logged as the server start
        raise RuntimeError("streamlit did not come up within 60 s")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path / "poa-home", _free_port())
    yield srv
    srv.stop()


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _commit(page, locator, text: str) -> None:
    """Type into a Streamlit text area and commit it (Streamlit takes the value on Ctrl+Enter)."""
    locator.fill(text)
    locator.press("Control+Enter")


def test_draft_review_edit_download_and_reopen_after_restart(server, browser, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(exist_ok=True)
    server_up = server.start()
    timings = {"server_start_s": round(server_up, 2)}
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    hosts = set()  # private by default: every request the page makes stays on this machine
    page.on("request", lambda request: hosts.add(urlparse(request.url).hostname))

    started = time.monotonic()
    page.goto(server.url)
    notice_box = page.get_by_label("Paste the notice Amazon sent", exact=False)
    notice_box.wait_for(timeout=30_000)
    timings["page_usable_s"] = round(time.monotonic() - started, 2)
    timings["usable_after_server_start_s"] = round(server_up + timings["page_usable_s"], 2)

    _commit(page, notice_box, NOTICE)
    page.get_by_role("button", name="Read notice").click()
    page.get_by_text("What the notice alleges", exact=False).wait_for(timeout=20_000)
    sync_api.expect(page.get_by_label("ASINs", exact=True)).to_have_value("B07PQRS123", timeout=15_000)

    # Answer one question: the date of the first fix.
    fix_date = page.get_by_role("textbox", name="On what date", exact=False).first
    fix_date.fill("2026-03-16")
    page.get_by_role("textbox", name="Who signs the letter", exact=False).fill("Wang Fang, Operations Manager")
    page.get_by_role("button", name="Draft the letter").click()
    page.locator("mark.poa-finding").first.wait_for(timeout=20_000)
    assert page.locator("mark.poa-finding").count() >= 1
    review = page.locator("div.poa-letter").first
    review.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "1-draft-highlighted.png"))
    review.screenshot(path=str(shots / "1b-highlighted-letter.png"))

    # Edit a line and re-check.
    editor = page.get_by_label("The letter (edit here", exact=False)
    sync_api.expect(editor).to_contain_text("B07PQRS123", timeout=15_000)
    letter = editor.input_value()
    assert "B07PQRS123" in letter and "2026-03-16" in letter
    _commit(page, editor, letter.replace("[store name]", "Acme Home Store"))
    page.get_by_role("button", name="Re-check").click()
    page.get_by_text("v2", exact=True).wait_for(timeout=20_000)
    sync_api.expect(page.get_by_label("The letter (edit here", exact=False)).to_contain_text("Acme Home Store")
    page.locator("div.poa-letter").first.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "2-after-recheck.png"))

    # Download the .docx and open it.
    with page.expect_download() as info:
        page.get_by_role("button", name=".docx").click()
    path = tmp_path / "letter.docx"
    info.value.save_as(path)
    import docx

    paragraphs = [p.text for p in docx.Document(io.BytesIO(path.read_bytes())).paragraphs]
    assert any("B07PQRS123" in p for p in paragraphs)
    assert any("Acme Home Store" in p for p in paragraphs)

    # A 600-word letter, checked offline, in the Critique tab.
    page.get_by_role("tab", name="Critique a POA").click()
    sentence = "On 2026-03-16 our warehouse lead Wang Fang checked all 212 SKUs against the pickup schedule. "
    long_letter = "Root Cause\n" + sentence * 20 + "\nCorrective Actions\n" + sentence * 20 + "\nPreventive Measures\n" + sentence * 20
    _commit(page, page.get_by_label("Paste your Plan of Action", exact=False), long_letter)
    clicked = time.monotonic()
    page.get_by_role("button", name="Check", exact=True).click()
    # The draft's review, with its own version numbers, sits in a hidden tab: wait for a visible one.
    page.get_by_text("v1", exact=True).filter(visible=True).wait_for(timeout=20_000)
    timings["check_600_words_s"] = round(time.monotonic() - clicked, 2)
    editor = page.get_by_label("The letter (edit here", exact=False).last
    _commit(page, editor, long_letter + "\nSigned: Wang Fang, Operations Manager")
    page.wait_for_timeout(500)  # the edit reaches the server before the click, as when a person types
    clicked = time.monotonic()
    page.get_by_role("button", name="Re-check").last.click()
    page.get_by_text("v2", exact=True).filter(visible=True).wait_for(timeout=20_000)
    timings["recheck_600_words_s"] = round(time.monotonic() - clicked, 2)
    assert "Checked by: offline rules" in page.locator("body").inner_text()
    page.close()

    # Restart the server: the case and both its versions are still there.
    server.stop()
    timings["server_restart_s"] = round(server.start(), 2)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("request", lambda request: hosts.add(urlparse(request.url).hostname))
    page.goto(server.url)
    case_button = page.get_by_role("button", name="order_defect_rate", exact=False).first
    case_button.wait_for(timeout=30_000)
    assert "v2" in case_button.inner_text()
    case_button.click()
    page.locator("mark.poa-finding").first.wait_for(timeout=20_000)
    sync_api.expect(page.get_by_label("The letter (edit here", exact=False)).to_contain_text("Acme Home Store")
    page.locator("div.poa-letter").first.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "3-reopened-after-restart.png"))
    # Export the case as JSON and import it back: a second copy joins the list, every version with it.
    with page.expect_download() as info:
        page.get_by_role("button", name="Export this case", exact=False).click()
    exported = tmp_path / "case.json"
    info.value.save_as(exported)
    assert len(json.loads(exported.read_text(encoding="utf-8"))["case"]["versions"]) == 2
    page.get_by_role("button", name="Import a case", exact=False).click()
    page.locator("section[data-testid='stSidebar'] input[type='file']").set_input_files(str(exported))
    page.get_by_text("Case imported.", exact=True).wait_for(timeout=20_000)
    cases = page.get_by_role("button", name="order_defect_rate", exact=False)
    sync_api.expect(cases).to_have_count(2, timeout=20_000)
    # The copy opens at once, marked open in the list, with both versions (its review shows v2).
    labels = sorted(cases.nth(i).inner_text() for i in range(2))
    assert ["open now" in label for label in labels].count(True) == 1, labels
    assert any("v2" in label for label in labels), labels
    page.get_by_text("v2", exact=True).filter(visible=True).first.wait_for(timeout=20_000)
    # The evals page: run, see the figures and a case with expected and found spans.
    page.get_by_role("tab", name="Evals").click()
    page.get_by_role("button", name="Run the offline evals").click()
    page.get_by_text("critic.recall", exact=True).first.wait_for(timeout=60_000)
    page.get_by_text("Found by the critic", exact=False).first.wait_for(timeout=60_000)
    page.screenshot(path=str(shots / "4-evals.png"))
    # The interface in Chinese; the letter stays in English.
    page.get_by_text("中文", exact=True).click()
    page.get_by_role("tab", name="根据通知起草", exact=False).wait_for(timeout=20_000)
    page.get_by_text("订单缺陷率（ODR）超标", exact=False).first.wait_for(timeout=20_000)  # the violation's name too
    page.screenshot(path=str(shots / "5-chinese-interface.png"))
    assert hosts - {None} == {"127.0.0.1"}, f"the page reached beyond this machine: {sorted(hosts - {None})}"
    (ARTIFACTS / "browser-timings.json").write_text(json.dumps(timings, indent=2))
    print("browser timings:", timings)
