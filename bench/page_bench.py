"""Benchmark: how soon the page is usable after `streamlit run app.py` starts, and how long an offline
re-check of a 600-word letter takes in the browser, against a peer page (bench/peer_page.py, the
smallest Streamlit page with the same widgets) measured in the same run.

    python bench/page_bench.py [--rounds 3]

Needs chromium (apt-get install -y chromium) and Python playwright. Each round starts a fresh server
for each page and alternates them, so load on the machine hits both alike. Prints medians and the
app's overhead over the peer: what the app adds on top of Streamlit itself.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SENTENCE = "On 2026-03-16 our warehouse lead Wang Fang checked all 212 SKUs against the pickup schedule. "
LETTER = ("Root Cause\n" + SENTENCE * 20 + "\nCorrective Actions\n" + SENTENCE * 20 + "\nPreventive Measures\n"
          + SENTENCE * 20)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(browser, script: Path, home: Path) -> dict:
    """Seconds from the server process starting to the notice box on screen, and from a click on
    Check to the answer drawn for a 600-word letter. The click comes as soon as the page is usable,
    before the app's deferred loading of the rules (app.py, WARM_UP_AFTER_S), so for the app this
    first check includes that load; a person pasting a letter takes longer than that."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env={**os.environ, "POA_HOME": str(home)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                    break
            except OSError:
                if time.monotonic() - started > 60:
                    raise RuntimeError(f"{script.name}: the server did not come up within 60 s")
                time.sleep(0.02)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_label("Paste the notice Amazon sent", exact=False).wait_for(timeout=30_000)
        usable = time.monotonic() - started
        page.get_by_role("tab", name="Critique a POA").click()
        box = page.get_by_label("Paste your Plan of Action", exact=False)
        box.fill(LETTER)
        box.press("Control+Enter")
        page.wait_for_timeout(300)  # let the committed value reach the server before the click
        clicked = time.monotonic()
        page.get_by_role("button", name="Check", exact=True).click()
        page.get_by_text("Checked by:", exact=False).last.wait_for(timeout=30_000)
        check = time.monotonic() - clicked
        page.close()
        return {"usable_s": usable, "check_s": check}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("page_bench: chromium is not installed (apt-get install -y chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    pages = {"poa app": ROOT / "app.py", "peer page": ROOT / "bench" / "peer_page.py"}
    results = {name: [] for name in pages}
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        for round_no in range(args.rounds):
            for name, script in pages.items():
                results[name].append(measure(browser, script, Path(tmp) / f"{name}-{round_no}"))
        browser.close()
    print(f"{args.rounds} rounds, median seconds")
    med = {name: {k: statistics.median(r[k] for r in rows) for k in ("usable_s", "check_s")}
           for name, rows in results.items()}
    for name, m in med.items():
        print(f"  {name:<10} usable after server start {m['usable_s']:.2f} s   600-word check {m['check_s']:.2f} s")
    app, peer = med["poa app"], med["peer page"]
    print(f"  app overhead  usable +{app['usable_s'] - peer['usable_s']:.2f} s   check +{app['check_s'] - peer['check_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
