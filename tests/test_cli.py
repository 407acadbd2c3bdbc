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


NOTICE = (
    "Hello,\n\nWe are reaching out because your Late Shipment Rate is 6.2% (target: under 4%).\n"
    "Affected orders: 112-3344556-7788990, 113-1234567-7654321\nASIN: B07PQRS123\n"
    "Please submit a plan of action within 17 days.\n"
)


@pytest.fixture
def notice_file(tmp_path):
    path = tmp_path / "notice.txt"
    path.write_text(NOTICE, encoding="utf-8")
    return path


def test_notice_json_shape(notice_file):
    run = poa("notice", str(notice_file), "--format", "json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["violation"] == "late_shipment_rate"
    assert 0 < data["confidence"] <= 1 and data["candidates"][0]["violation"] == "late_shipment_rate"
    assert data["asins"] == ["B07PQRS123"]
    assert data["order_ids"] == ["112-3344556-7788990", "113-1234567-7654321"]
    assert data["metrics"] == [{"name": "late_shipment_rate", "value": 6.2, "target": "under 4%"}]
    assert data["deadline_days"] == 17
    assert {"marketplace", "requested_documents", "policies"} <= data.keys()


def test_notice_text_for_a_person(notice_file):
    out = poa("notice", str(notice_file)).stdout.decode()
    assert "late_shipment_rate" in out and "B07PQRS123" in out and "within 17 days" in out


def test_questions_name_their_proof(notice_file):
    data = json.loads(poa("questions", str(notice_file), "--format", "json").stdout)
    assert data[0]["id"] == "root_causes" and data[0]["options"]
    assert all(q["proof"] for q in data if q["slot"])
    assert "Proof:" in poa("questions", str(notice_file)).stdout.decode()
    assert "处理时间" in poa("questions", str(notice_file), "--lang", "zh").stdout.decode()


def test_draft_json_shape_and_formats(notice_file, tmp_path):
    run = poa("draft", str(notice_file), "--format", "json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert {"notice", "poa", "text", "critique", "questions"} <= data.keys()
    assert set(data["poa"]) == {"root_causes", "corrective_actions", "preventive_measures"}
    assert "B07PQRS123" in data["text"]
    assert {"findings", "sections", "score", "verdict"} <= data["critique"].keys()
    assert "## Root Cause" in poa("draft", str(notice_file), "--format", "md").stdout.decode()
    text_run = poa("draft", str(notice_file))
    assert text_run.stdout.decode().startswith("Dear Seller Performance Team")
    assert b"words" in text_run.stderr and b"facts still missing" in text_run.stderr


def test_draft_with_facts(notice_file, tmp_path):
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"root_causes": ["handling_time_too_short"], "slots": {"fix_date": "2026-03-16"},
                                 "signer": "Wang Fang, Operations Manager"}), encoding="utf-8")
    data = json.loads(poa("draft", str(notice_file), "--facts", str(facts), "--format", "json").stdout)
    assert "2026-03-16" in data["text"] and "Wang Fang, Operations Manager" in data["text"]


@pytest.mark.parametrize(
    "content,message",
    [("{not json", b"not valid JSON"), ('{"root_cause": "typo"}', b"does not match the facts schema"),
     ('{"root_causes": ["made_up"]}', b"no root cause 'made_up'")],
)
def test_bad_facts_exit_2(notice_file, tmp_path, content, message):
    facts = tmp_path / "facts.json"
    facts.write_text(content, encoding="utf-8")
    run = poa("draft", str(notice_file), "--facts", str(facts))
    assert run.returncode == 2 and message in run.stderr and b"Traceback" not in run.stderr


def test_schema_facts():
    schema = json.loads(poa("schema", "facts").stdout)
    assert schema["title"] == "Facts" and "root_causes" in schema["properties"]


@pytest.mark.parametrize("command", ["notice", "questions", "draft"])
def test_notice_commands_refuse_unusable_input(command):
    for data, message in ((b"", b"empty"), (b"\x00\x01binary", b"binary")):
        run = poa(command, "-", stdin=data)
        assert run.returncode == 2 and message in run.stderr and b"Traceback" not in run.stderr


def test_unrecognised_notice_is_other_with_useful_questions():
    run = poa("questions", "-", "--format", "json", stdin=b"Hello, please contact us about your account.")
    assert run.returncode == 0
    assert len(json.loads(run.stdout)) > 3
    notice = json.loads(poa("notice", "-", "--format", "json", stdin=b"Hello, please contact us about your account.").stdout)
    assert notice["violation"] == "other"


def test_one_megabyte_notice_is_read_with_a_warning():
    big = (NOTICE * (1_048_576 // len(NOTICE) + 1))[:1_048_576].encode()
    run = poa("notice", "-", "--format", "json", stdin=big)
    assert run.returncode == 0 and b"Traceback" not in run.stderr
    assert json.loads(run.stdout)["warnings"]
