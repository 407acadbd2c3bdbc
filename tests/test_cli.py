"""`poa critique` as a user runs it: files, standard input, formats, exit codes."""

import json
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

WEAK = "Root cause:\nThe carrier was late.\nCorrective actions:\nWe have trained our staff.\nPreventive measures:\nWe will do our best.\n"


def poa(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args], input=stdin, capture_output=True, timeout=60
    )


def test_console_script_is_registered():
    assert any(ep.name == "poa" and ep.value == "pipeline.cli:main" for ep in entry_points(group="console_scripts"))


def test_json_has_the_documented_shape(tmp_path):
    path = tmp_path / "poa.txt"
    path.write_text(WEAK, encoding="utf-8")
    run = poa("critique", str(path), "--format", "json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert {"findings", "sections", "score", "verdict"} <= data.keys()
    assert data["sections"] == {"root_cause": True, "corrective_actions": True, "preventive_measures": True}
    assert isinstance(data["score"], int) and data["verdict"] in ("ready", "needs_work", "not_ready")
    keys = {"category", "rule", "severity", "start", "end", "quote", "message", "suggestion", "source"}
    for f in data["findings"]:
        assert keys <= f.keys()
        assert WEAK[f["start"] : f["end"]] == f["quote"]
    assert {f["rule"] for f in data["findings"]} >= {"blame_shifting.carrier", "vague.best-effort"}


def test_standard_input_and_text_output():
    run = poa("critique", "-", "--color", "never", stdin=WEAK.encode())
    out = run.stdout.decode()
    assert run.returncode == 0
    assert '<stdin>:2:1  high    blame_shifting' in out
    assert '"The carrier was late"' in out
    assert "Score " in out and "\x1b[" not in out


def test_colour_when_asked():
    assert "\x1b[31m" in poa("critique", "-", "--color", "always", stdin=WEAK.encode()).stdout.decode()


@pytest.mark.parametrize("level,code", [("high", 1), ("medium", 1), ("low", 1)])
def test_fail_on_a_severity_present(level, code):
    assert poa("critique", "-", "--fail-on", level, stdin=WEAK.encode()).returncode == code


def test_fail_on_passes_a_clean_letter(tmp_path):
    from tests.test_critic import STRONG

    assert poa("critique", "-", "--fail-on", "low", stdin=STRONG.encode()).returncode == 0


@pytest.mark.parametrize(
    "stdin,message",
    [(b"", b"empty"), (b"   \n\t", b"empty"), (b"\x00\x01\x02binary", b"binary")],
)
def test_unusable_input_exits_2_with_a_message(stdin, message):
    run = poa("critique", "-", stdin=stdin)
    assert run.returncode == 2
    assert message in run.stderr and b"Traceback" not in run.stderr


def test_missing_file_and_folder(tmp_path):
    for target in (str(tmp_path / "nope.txt"), str(tmp_path)):
        run = poa("critique", target)
        assert run.returncode == 2 and b"Traceback" not in run.stderr and run.stderr


def test_chinese_windows_file_is_read(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes(("Root cause: 处理时间设置错误。\n" + WEAK).encode("gb18030"))
    run = poa("critique", str(path), "--format", "json")
    assert run.returncode == 0
    assert any(f["category"] == "language" for f in json.loads(run.stdout)["findings"])
