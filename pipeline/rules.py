"""Critic rules and the lexicon they share, loaded from `corpus/rules/*.toml` and `corpus/lexicon.toml`."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat

from . import corpus
from .anchors import AnchorIndex, anchors, extent, finditer_near, has_upper, lowered, match_starts, repeated_runs
from .models import CATEGORIES, SEVERITIES

_FLAGS = re.IGNORECASE | re.MULTILINE


def _compile(patterns: list[str], case_sensitive: bool = False) -> re.Pattern | None:
    if not patterns:
        return None
    flags = re.MULTILINE if case_sensitive else _FLAGS
    return re.compile("|".join(f"(?:{p})" for p in patterns), flags)


@dataclass(frozen=True)
class Pattern:
    """One compiled pattern and the literal anchors that must be present for it to match.

    A case-insensitive pattern written in lower case runs case-sensitively on the letter's
    lower-case view (same offsets): Python's regex engine is several times faster that way."""

    regex: re.Pattern
    anchors: tuple[frozenset[str], ...]
    folded: bool  # runs on (and anchors are in) the lower-case view
    # Without anchors: strings of the lower-case view that every match contains (see repeated_runs).
    runs: tuple[str, ...] = ()
    # The longest match and how far an attempt reads from its start; None when unbounded (anchors.extent).
    extent: tuple[int, int] | None = None

    def finditer(self, view: str, starts: list[tuple[int, int]] | None, start: int, end: int) -> Iterator[re.Match]:
        """The matches `regex.finditer(view, start, end)` gives, searching only where a match can
        start (anchors.finditer_near)."""
        return finditer_near(self.regex, view, starts, self.extent[1] if self.extent else 0, start, end)


def _pattern(p: str, case_sensitive: bool) -> Pattern:
    if case_sensitive:
        found = anchors(p, re.MULTILINE)
        return Pattern(re.compile(p, re.MULTILINE), found, False, () if found else repeated_runs(p, re.MULTILINE),
                       extent(p, re.MULTILINE) if found else None)
    if has_upper(p):
        raise ValueError(f"pattern {p!r} spells upper case; write case-insensitive patterns in lower case")
    found = anchors(p, _FLAGS)
    return Pattern(re.compile(p, re.MULTILINE), found, True, () if found else repeated_runs(p, re.MULTILINE),
                   extent(p, re.MULTILINE) if found else None)


def _patterns(patterns: list[str], case_sensitive: bool = False) -> tuple[Pattern, ...]:
    return tuple(_pattern(p, case_sensitive) for p in patterns)


@dataclass(frozen=True)
class Example:
    text: str
    expect_flag: bool


@dataclass(frozen=True)
class Rule:
    """One critic rule as the corpus states it."""

    id: str
    category: str
    severity: str
    message: str
    suggestion: str
    family: str
    kind: str = "pattern"  # "pattern": regexes over the text; "check": a named function in critic.py
    check: str | None = None
    patterns: tuple[Pattern, ...] = ()
    exceptions: re.Pattern | None = None
    unless: tuple[str, ...] = ()
    scope: str = "sentence"  # quote the whole sentence, or only the "match"
    sections: tuple[str, ...] = ()
    params: dict = field(default_factory=dict)
    supersedes: tuple[str, ...] = ()
    yield_to: tuple[str, ...] = ()  # categories whose finding inside this one's span replaces it
    defer_to: tuple[str, ...] = ()  # categories whose finding anywhere on this one's span replaces it
    examples: tuple[Example, ...] = ()

    def excepts(self, text: str) -> bool:
        """Whether one of the rule's exceptions matches the text, which then is no finding of it."""
        return self.exceptions is not None and self.exceptions.search(text) is not None


@dataclass(frozen=True)
class Scanned:
    """A text as the lexicon reads it (Lexicon.scan)."""

    text: str
    low: str  # the lower-case view, same offsets
    present: set[int]  # numbers of the anchor sets it holds


class Lexicon:
    """Named phrase classes (dates, owners, ownership...) and the groups rules refer to.

    Case-insensitive patterns written in lower case run case-sensitively on a lower-case view of the
    text (same offsets), which Python's regex engine does several times faster; the few that spell
    upper case (identifiers such as "B0[A-Z0-9]{8}") keep IGNORECASE on the text as given.

    `has` and `search` run each pattern on its own, and only those whose anchors (anchors.py) are
    all in the text: one Aho-Corasick pass over the text finds them. A class is a handful of such
    patterns, so a sentence usually needs one or two regex searches instead of the whole class."""

    def __init__(self, data: dict):
        # Per class: (regex, runs on the lower-case view) pairs, the patterns of a kind joined in one
        # alternation (for finditer over a whole letter). Patterns that start with "^" are compiled
        # on their own: inside one alternation they would stop the engine from skipping ahead to the
        # first characters the other branches need, and slow every search.
        self.classes: dict[str, tuple[tuple[re.Pattern, bool], ...]] = {}
        # Per class: each pattern alone, in the order the alternations try them, with the numbers
        # of the anchor sets it needs (an empty set: it may match anything).
        self._members: dict[str, tuple[tuple[re.Pattern, bool, frozenset[int]], ...]] = {}
        # Per alternation of `classes`: where its matches can start in a letter, from its patterns'
        # first anchor sets and longest matches, and how far an attempt reads; None: anywhere.
        self._starts: dict[str, tuple[tuple[tuple[tuple[frozenset[str], int], ...], int] | None, ...]] = {}
        numbers: dict[tuple[bool, frozenset[str]], int] = {}
        for name, spec in data["classes"].items():
            patterns = spec["patterns"]
            compiled: list[tuple[re.Pattern, bool]] = []
            starts: list[tuple[tuple[tuple[frozenset[str], int], ...], int] | None] = []
            members: list[tuple[re.Pattern, bool, frozenset[int]]] = []
            if spec.get("case_sensitive", False):
                kinds = [(patterns, re.MULTILINE, False)]
            else:
                kinds = [
                    ([p for p in patterns if not has_upper(p)], re.MULTILINE, True),
                    ([p for p in patterns if has_upper(p)], _FLAGS, False),
                ]
            for kind, flags, folded in kinds:
                free = [p for p in kind if not p.startswith("^")]
                if free:
                    compiled.append((re.compile("|".join(f"(?:{p})" for p in free), flags), folded))
                    starts.append(_alternation_starts(free, flags))
                for p in kind:
                    if p.startswith("^"):
                        compiled.append((re.compile(p, flags), folded))
                        starts.append(_alternation_starts([p], flags))
                for p in free + [p for p in kind if p.startswith("^")]:
                    # Under IGNORECASE a letter matches more than its lower case ("ſ" for "s"): no anchors.
                    sets = () if flags & re.IGNORECASE else anchors(p, flags)
                    needed = frozenset(numbers.setdefault((folded, g), len(numbers)) for g in sets)
                    members.append((re.compile(p, flags), folded, needed))
            self.classes[name] = tuple(compiled)
            self._starts[name] = tuple(starts)
            self._members[name] = tuple(members)
        sets_of: dict[bool, dict[str, list[int]]] = {True: {}, False: {}}
        for (folded, group), n in numbers.items():
            for a in group:
                sets_of[folded].setdefault(a, []).append(n)
        self._sets_of = {folded: {a: tuple(ns) for a, ns in found.items()} for folded, found in sets_of.items()}
        self._index = {folded: AnchorIndex(set(strings)) for folded, strings in self._sets_of.items()}
        self.groups = {name: tuple(members) for name, members in data["groups"].items()}
        words = data.get("function_words", {})
        # English function words, and those of the other languages (minus any English homograph).
        self.english_words = frozenset(words.get("english", "").split())
        self.foreign_words = frozenset(
            w for lang, spec in words.items() if lang not in ("english", "markers") for w in spec.split()
        ) - self.english_words
        self.foreign_markers = tuple(f" {w} " for w in words.get("markers", "").split())
        for group, members in self.groups.items():
            unknown = [m for m in members if m not in self.classes]
            if unknown:
                raise ValueError(f"lexicon group {group!r} names unknown classes {unknown}")

    def scan(self, text: str) -> Scanned:
        """The text with its lower-case view and the anchor sets it holds, for `has` and `search`;
        scan a text once when several groups are asked about it."""
        low = lowered(text)
        present: set[int] = set()
        for folded, view in ((True, low), (False, text)):
            sets_of = self._sets_of[folded]
            for a in self._index[folded].scan(view):
                present.update(sets_of[a])
        return Scanned(text, low, present)

    def anchor_strings(self, folded: bool) -> set[str]:
        """The anchors of the lexicon's patterns in one view (lower-case or exact)."""
        return set(self._sets_of[folded])

    def locate(self, found_folded: dict[str, list[int]], found_exact: dict[str, list[int]]) -> tuple[list[int], list[tuple[int, tuple[int, ...]]]]:
        """The lexicon's anchors among a letter's (AnchorIndex.scan of each view, with the lexicon's
        strings indexed), in order of where they start: the starts, and (end, set numbers) of each."""
        located = sorted(
            (o, o + len(a), numbers)
            for folded, found in ((True, found_folded), (False, found_exact))
            for a, offsets in found.items()
            if (numbers := self._sets_of[folded].get(a))
            for o in offsets
        )
        return [h[0] for h in located], [(h[1], h[2]) for h in located]

    def scan_located(self, text: str, low: str, located, start: int, end: int) -> Scanned:
        """`scan` of a letter's text at start:end (`text` and `low` are those pieces of the letter's
        views), from the anchors located in the whole letter instead of a new pass."""
        starts, rest = located
        present: set[int] = set()
        for i in range(bisect_left(starts, start), bisect_left(starts, end)):
            stop, numbers = rest[i]
            if stop <= end:
                present.update(numbers)
        return Scanned(text, low, present)

    def finditer(self, name: str, plain: str, low: str, found_folded: dict[str, list[int]], found_exact: dict[str, list[int]]) -> Iterator[re.Match]:
        """Matches of a class over a whole letter, as its alternations' finditer gives them (one after
        the other), searching only where one of its patterns can start (`found_*`: the letter's
        anchors, as for `locate`)."""
        for (rx, folded), starts in zip(self.classes[name], self._starts[name]):
            view = low if folded else plain
            if starts is None:
                yield from rx.finditer(view)
                continue
            sets, reads = starts
            yield from finditer_near(rx, view, match_starts(sets, found_folded if folded else found_exact, reads), reads, 0, len(view))

    def _matches(self, group: str, text: str | Scanned, pos: int = 0):
        """A match (or None) of each pattern of `group` (or the class of that name) that may match, from `pos`."""
        scanned = text if isinstance(text, Scanned) else self.scan(text)
        for name in self.groups.get(group, (group,)):
            for rx, folded, needed in self._members[name]:
                if needed <= scanned.present:  # otherwise a string every match contains is absent: no match
                    yield rx.search(scanned.low if folded else scanned.text, pos)

    def search(self, group: str, text: str | Scanned, pos: int = 0) -> re.Match | None:
        """The first match of any class in `group` (or a class of that name) from `pos`, or None; of
        matches at the same place, the one the class alternation would give."""
        found = [m for m in self._matches(group, text, pos) if m]
        return min(found, key=lambda m: m.start()) if found else None

    def has(self, group: str, text: str | Scanned) -> bool:
        return any(self._matches(group, text))


def _alternation_starts(patterns: list[str], flags: int) -> tuple[tuple[tuple[frozenset[str], int], ...], int] | None:
    """For an alternation of these patterns: each one's first anchor set and longest match, and the
    farthest any reads; None when one has no anchors or no bound (its matches may start anywhere)."""
    if flags & re.IGNORECASE:
        return None  # case folding matches more than the lower-case view shows
    sets, reads = [], 0
    for p in patterns:
        found, size = anchors(p, flags), extent(p, flags)
        if not found or size is None:
            return None
        sets.append((found[0], size[0]))
        reads = max(reads, size[1])
    return tuple(sets), reads


def _expand(item: str | dict) -> str:
    if isinstance(item, str):
        return item
    return item["text"] * int(item.get("repeat", 1))


def _rule(spec: dict, family: str, lexicon: Lexicon) -> Rule:
    rid = spec.get("id", "?")
    problems = []
    if spec.get("category") not in CATEGORIES:
        problems.append(f"category {spec.get('category')!r} is not one of {CATEGORIES}")
    if spec.get("severity") not in SEVERITIES:
        problems.append(f"severity {spec.get('severity')!r} is not one of {SEVERITIES}")
    kind = spec.get("kind", "pattern")
    if kind == "pattern" and not spec.get("patterns"):
        problems.append("a pattern rule needs patterns")
    if kind == "check" and not spec.get("check"):
        problems.append("a check rule needs the name of its check")
    for group in spec.get("unless", []):
        if group not in lexicon.groups and group not in lexicon.classes:
            problems.append(f"unless names unknown lexicon group {group!r}")
    for key in ("message", "suggestion"):
        if not spec.get(key):
            problems.append(f"missing {key}")
    if problems:
        raise ValueError(f"rule {rid} in {family}.toml: " + "; ".join(problems))
    examples = spec.get("examples", {})
    try:
        patterns = _patterns(spec.get("patterns", []), spec.get("case_sensitive", False))
        exceptions = _compile(spec.get("exceptions", []))
    except (re.error, ValueError) as exc:
        raise ValueError(f"rule {rid} in {family}.toml: bad pattern: {exc}") from exc
    return Rule(
        id=rid,
        category=spec["category"],
        severity=spec["severity"],
        message=spec["message"],
        suggestion=spec["suggestion"],
        family=family,
        kind=kind,
        check=spec.get("check"),
        patterns=patterns,
        exceptions=exceptions,
        unless=tuple(spec.get("unless", [])),
        scope=spec.get("scope", "sentence"),
        sections=tuple(spec.get("sections", [])),
        params=dict(spec.get("params", {})),
        supersedes=tuple(spec.get("supersedes", [])),
        yield_to=tuple(spec.get("yield_to", [])),
        defer_to=tuple(spec.get("defer_to", [])),
        examples=tuple(Example(_expand(t), True) for t in examples.get("flag", []))
        + tuple(Example(_expand(t), False) for t in examples.get("pass", [])),
    )


@lru_cache(maxsize=1)
def anchor_indexes() -> tuple[AnchorIndex, AnchorIndex]:
    """One index for the anchors of lower-case-view patterns, one for case-sensitive ones: those of
    the rules and of the lexicon, so that one pass over a letter finds them all."""
    lex = lexicon()
    folded, exact = lex.anchor_strings(True), lex.anchor_strings(False)
    for rule in load_rules():
        for p in rule.patterns:
            for group in p.anchors:
                (folded if p.folded else exact).update(group)
    return AnchorIndex(folded), AnchorIndex(exact)


class PatternIndex:
    """The anchored patterns of a rule set filed under their first anchor set, so that the anchors a
    letter holds name the few patterns that can match it and the others are never looked at. Each
    anchor set is numbered (per view: lower-case or exact), and a pattern is a candidate when all the
    numbers of its sets are present: one subset test."""

    def __init__(self, rules: tuple[Rule, ...], lex: Lexicon):
        self.rules, self.lexicon = rules, lex
        anchor_indexes.cache_clear()  # made for these rules and this lexicon
        self.indexes = anchor_indexes()
        self._position = {id(rule): i for i, rule in enumerate(rules)}
        numbers: dict[tuple[bool, frozenset[str]], int] = {}
        self._sets_of: dict[bool, dict[str, list[int]]] = {True: {}, False: {}}
        self._by_first: dict[int, list[tuple[int, int, frozenset[int]]]] = {}
        self._unanchored: dict[int, tuple[int, ...]] = {}
        for r, rule in enumerate(rules):
            for k, p in enumerate(rule.patterns):
                if not p.anchors:
                    self._unanchored[r] = self._unanchored.get(r, ()) + (k,)
                    continue
                own = []
                for group in p.anchors:
                    if (p.folded, group) not in numbers:
                        numbers[p.folded, group] = n = len(numbers)
                        for a in group:
                            self._sets_of[p.folded].setdefault(a, []).append(n)
                    own.append(numbers[p.folded, group])
                self._by_first.setdefault(own[0], []).append((r, k, frozenset(own)))

    def candidates(self, hits_folded: dict[str, list[int]], hits_exact: dict[str, list[int]]) -> dict[int, list[int]]:
        """Per rule (by position), its patterns (by position) that may match a letter whose anchors
        are these: every anchor set present, or no anchors at all. Their order does not matter: the
        critic sorts the matches."""
        present: set[int] = set()
        for folded, hits in ((True, hits_folded), (False, hits_exact)):
            present.update(*map(self._sets_of[folded].get, hits, repeat((), len(hits))))
        chosen: dict[int, list[int]] = {r: list(ks) for r, ks in self._unanchored.items()}
        by_first = self._by_first
        for n in present.intersection(by_first):
            for r, k, needed in by_first[n]:
                if needed <= present:
                    chosen.setdefault(r, []).append(k)
        return chosen

    def position(self, rule: Rule) -> int | None:
        """Where the rule stands in the indexed set; None for a rule from elsewhere."""
        return self._position.get(id(rule))


_PATTERN_INDEX: list = [None]
_BY_ID: list = [None, {}]


def rule_by_id(rule_id: str) -> Rule | None:
    """The loaded rule with this id, or None; the map is made again whenever the rules are loaded again."""
    rules = load_rules()
    if _BY_ID[0] is not rules:
        _BY_ID[:] = [rules, {rule.id: rule for rule in rules}]
    return _BY_ID[1].get(rule_id)


def pattern_index() -> PatternIndex:
    """The index of the loaded rules, made again whenever the rules or the lexicon are loaded again."""
    rules, lex = load_rules(), lexicon()
    index = _PATTERN_INDEX[0]
    if index is None or index.rules is not rules or index.lexicon is not lex:
        index = _PATTERN_INDEX[0] = PatternIndex(rules, lex)
    return index


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    return Lexicon(corpus.load("lexicon.toml"))


@lru_cache(maxsize=1)
def load_rules() -> tuple[Rule, ...]:
    """Every rule in `corpus/rules/`, validated; raises ValueError naming the rule on bad data."""
    lex = lexicon()
    rules: list[Rule] = []
    for family, data in corpus.load_all("rules").items():
        for spec in data.get("rules", []):
            rules.append(_rule(spec, family, lex))
    ids = [r.id for r in rules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate rule ids: {duplicates}")
    return tuple(rules)


def rules_without_examples(rules: tuple[Rule, ...]) -> list[str]:
    """Ids of rules that lack a line they must flag or a line they must pass."""
    return [
        r.id
        for r in rules
        if not any(e.expect_flag for e in r.examples) or not any(not e.expect_flag for e in r.examples)
    ]


@lru_cache(maxsize=1)
def rules_version() -> str:
    """Identifies the corpus data (rules, lexicon, sections, scoring) a result was produced with."""
    return f"rules-{corpus.fingerprint('.')}"
