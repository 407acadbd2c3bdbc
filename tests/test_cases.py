"""The case store: every change saved at once, nothing lost across reopen, clear errors."""

import sqlite3

import pytest

from pipeline import critique
from pipeline.cases import CaseStore, StoreError
from pipeline.models import Facts, Notice


@pytest.fixture
def store(tmp_path):
    return CaseStore(tmp_path / "home")


def test_a_case_survives_reopening_with_every_version(store, tmp_path):
    cid = store.create("draft", "ODR appeal")
    store.save_notice(cid, "notice text", Notice(violation="order_defect_rate", confidence=0.9, asins=["B07PQRS123"]))
    store.save_facts(cid, Facts(root_causes=["x"], signer="Wang Fang"))
    for i, text in enumerate(["first draft", "second draft", "third draft"]):
        store.add_version(cid, text, critique(text), "draft" if i == 0 else "edit")
    again = CaseStore(tmp_path / "home").get(cid)
    assert [v.text for v in again.versions] == ["first draft", "second draft", "third draft"]
    assert [v.number for v in again.versions] == [1, 2, 3]
    assert again.notice.asins == ["B07PQRS123"] and again.facts.signer == "Wang Fang"
    assert again.versions[1].critique == critique("second draft")


def test_list_and_delete(store):
    a, b = store.create("draft"), store.create("critique", "Review")
    assert {c.id for c in store.list()} == {a, b}
    store.delete(a)
    assert [c.id for c in store.list()] == [b]
    with pytest.raises(StoreError, match="no case"):
        store.get(a)


def test_export_and_import_round_trip(store, tmp_path):
    cid = store.create("critique", "My letter")
    store.add_version(cid, "letter", critique("letter"), "critique")
    other = CaseStore(tmp_path / "elsewhere")
    new_id = other.import_json(store.export(cid))
    copy = other.get(new_id)
    assert copy.title == "My letter" and [v.text for v in copy.versions] == ["letter"]


@pytest.mark.parametrize("text", ["not json", '{"format": "something-else"}', '{"format": "poa-case/1", "case": {}}'])
def test_bad_import_is_a_clear_error(store, text):
    with pytest.raises(StoreError):
        store.import_json(text)


def test_damaged_database_is_a_clear_error_and_the_file_is_kept(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "cases.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="damaged"):
        CaseStore(home)
    assert (home / "cases.sqlite3").read_bytes().startswith(b"this is not a database")


def test_locked_database_is_a_clear_error(store):
    cid = store.create("draft")
    blocker = sqlite3.connect(store.path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        store_fast = CaseStore.__new__(CaseStore)
        store_fast.home, store_fast.path = store.home, store.path
        with pytest.raises(StoreError, match="locked"):
            store_fast.add_version(cid, "text", None, "edit")
    finally:
        blocker.rollback()
        blocker.close()
    assert store.get(cid).versions == []


def test_typed_text_is_kept_until_a_version_supersedes_it(store, tmp_path):
    cid = store.create("critique")
    store.keep_typed(cid, "letter", "a long letter, pasted")
    store.keep_typed(cid, "letter", "a long letter, pasted and edited")
    assert CaseStore(tmp_path / "home").typed(cid) == {"letter": "a long letter, pasted and edited"}
    store.add_version(cid, "a long letter, pasted and edited", None, "critique")
    assert store.typed(cid) == {}
    store.keep_typed(cid, "edit", "an edit not yet re-checked")
    assert store.typed(cid) == {"edit": "an edit not yet re-checked"}
    store.delete(cid)
    with pytest.raises(StoreError, match="no case"):
        store.keep_typed(cid, "edit", "typed into a deleted case")


def test_a_database_made_before_typed_text_is_migrated_and_keeps_its_cases(tmp_path):
    from pipeline import cases as cases_mod

    home = tmp_path / "home"
    home.mkdir()
    db = sqlite3.connect(home / "cases.sqlite3")
    db.executescript(cases_mod.MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO cases (id, title, mode, status, created, updated) VALUES ('old', 'Old', 'critique', 'open', 'x', 'x')")
    db.commit()
    db.close()
    store = CaseStore(home)
    assert [c.id for c in store.list()] == ["old"]
    store.keep_typed("old", "letter", "typed")
    assert store.typed("old") == {"letter": "typed"}
