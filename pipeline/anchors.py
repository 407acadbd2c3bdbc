"""Literal anchors of a regular expression: fixed strings that any match must contain.

The critic has many rules of many patterns, and most cannot match a given letter at all. Looking
for a few substrings is far cheaper than running a pattern, so a pattern whose anchors are absent is
skipped. Anchors are derived from the pattern itself, never written by hand, so they cannot drift
from it. The answer is a conjunction of disjunctions: for every set, some string of it occurs in the
match. When nothing can be proven (the pattern may match without fixed text), the answer is empty
and the pattern always runs.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from functools import lru_cache
from re import _constants as C  # noqa: N812 - the parser's opcode names
from re import _parser

Anchors = tuple[frozenset[str], ...]
MIN_ANCHOR = 3  # a string as short as "a" filters nothing (two characters suffice for Chinese)
MAX_SETS = 4
_REPEATS = tuple(op for op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)) if op)


@lru_cache(maxsize=4096)
def _parse(pattern: str, verbose: int):
    """The parse tree of a pattern, once for every reading below. Only VERBOSE changes the tree;
    IGNORECASE and MULTILINE act when the tree is compiled, so `state.flags` holds the inline flags.
    The readers never change the tree they are given."""
    return _parser.parse(pattern, verbose)


def parse(pattern: str, flags: int = 0):
    return _parse(pattern, flags & re.VERBOSE)


def _selective(s: str) -> bool:
    return len(s) >= MIN_ANCHOR or (len(s) >= 2 and any(ord(c) > 127 for c in s))


def _quality(group: frozenset[str]) -> tuple[int, int]:
    return (min(len(s) for s in group), -len(group))


def _required(items, fold: bool) -> list[frozenset[str]] | None:
    """Sets of strings that every match of this sequence contains one of; None if unknowable."""
    required: list[frozenset[str]] = []
    run: list[str] = []

    def close_run() -> None:
        if run:
            required.append(frozenset({"".join(run)}))
            run.clear()

    for op, av in items:
        if op is C.LITERAL:
            char = chr(av)
            run.append(char.lower() if len(char.lower()) == 1 and fold else char)
            continue
        close_run()
        if op is C.SUBPATTERN:
            if not fold and av[1] & re.IGNORECASE:
                return None  # "(?i:...)" inside a case-sensitive pattern: the fixed text is unknown
            inner = _required(av[-1], fold)
            if inner is None:
                return None
            required.extend(inner)
        elif op is C.BRANCH:
            union: set[str] = set()
            for branch in av[1]:
                inner = _required(branch, fold)
                usable = [g for g in inner or [] if all(_selective(s) for s in g)]
                if not usable:
                    union = set()
                    break
                union |= max(usable, key=_quality)
            if union:
                required.append(frozenset(union))
        elif op in _REPEATS and av[0] >= 1:
            inner = _required(av[2], fold)
            if inner is None:
                return None
            required.extend(inner)
    close_run()
    return required


def has_upper(pattern: str) -> bool:
    """Whether the pattern spells an ASCII upper-case letter (a literal, or a class such as [A-Z])."""

    def walk(items) -> bool:
        for op, av in items:
            if op is C.LITERAL and 65 <= av <= 90:
                return True
            if op is C.IN:
                for kind, value in av:
                    if kind is C.LITERAL and 65 <= value <= 90:
                        return True
                    if kind is C.RANGE and value[0] <= 90 and value[1] >= 65:
                        return True
            if op is C.SUBPATTERN and walk(av[-1]):
                return True
            if op is C.BRANCH and any(walk(b) for b in av[1]):
                return True
            if op in _REPEATS and walk(av[2]):
                return True
            if op in (C.ASSERT, C.ASSERT_NOT) and walk(av[1]):
                return True
        return False

    try:
        return walk(list(parse(pattern)))
    except re.error:
        return True


def anchors(pattern: str, flags: int = 0) -> Anchors:
    """The anchor sets of a pattern (lower case when `flags` has IGNORECASE); empty if none."""
    fold = bool(flags & re.IGNORECASE)
    try:
        parsed = parse(pattern, flags)
    except re.error:
        return ()
    if not fold and parsed.state.flags & re.IGNORECASE:
        return ()  # "(?i)" at the front of a case-sensitive pattern: its text may be in any case
    found = _required(list(parsed), fold) or []
    usable = sorted({g for g in found if all(_selective(s) for s in g)}, key=_quality, reverse=True)
    return tuple(usable[:MAX_SETS])


_ONE_CHAR = (C.LITERAL, C.NOT_LITERAL, C.IN, C.ANY, C.CATEGORY)


def _extent(items) -> tuple[int, int] | None:
    """(longest match, characters read from the start) of a sequence; None if either is unbounded."""
    longest = reads = 0
    for op, av in items:
        if op in _ONE_CHAR:
            longest += 1
            reads = max(reads, longest)
        elif op is C.AT:
            reads = max(reads, longest + 2)  # "$" before a final newline looks one character further
        elif op is C.SUBPATTERN or op is C.ATOMIC_GROUP:
            inner = _extent(av[-1] if op is C.SUBPATTERN else av)
            if inner is None:
                return None
            reads = max(reads, longest + inner[1])
            longest += inner[0]
        elif op is C.BRANCH:
            inner = [_extent(branch) for branch in av[1]]
            if None in inner:
                return None
            reads = max(reads, longest + max(r for _, r in inner))
            longest += max(w for w, _ in inner)
        elif op in _REPEATS:
            inner = _extent(av[2])
            if inner is None or av[1] == C.MAXREPEAT:
                return None
            reads = max(reads, longest + av[1] * inner[0] + inner[1])
            longest += av[1] * inner[0]
        elif op is C.ASSERT or op is C.ASSERT_NOT:
            inner = _extent(av[1])
            if inner is None:
                return None
            reads = max(reads, longest + inner[1])  # a look-behind reads no further than this
        elif op is C.FAILURE or op is C.SUCCESS:
            continue
        else:  # a back-reference, or an opcode this reading does not know
            return None
    return longest, reads


def extent(pattern: str, flags: int = 0) -> tuple[int, int] | None:
    """How far a match attempt can reach: the longest match, and how many characters from where the
    attempt starts it may read (look-aheads and "\\b" or "$" at the end look past the match). None
    when a repeat has no upper bound. Within that reach, where the text is cut makes no difference."""
    try:
        return _extent(list(parse(pattern, flags)))
    except re.error:
        return None


def repeated_runs(pattern: str, flags: int = 0) -> tuple[str, ...]:
    """Strings every match contains, in the lower-case view, from the pattern's top-level repeats of
    one ASCII character ("_{4,}" gives "____", "[Xx]{3,}" gives "xxx"); a cheap filter for patterns
    without anchors. Empty when nothing can be proven."""
    if flags & re.IGNORECASE:
        return ()
    try:
        parsed = parse(pattern, flags)
    except re.error:
        return ()
    if parsed.state.flags & re.IGNORECASE:
        return ()
    found = []
    for op, av in parsed:
        if op not in _REPEATS or av[0] < 2 or len(av[2]) != 1:
            continue
        inner_op, inner = av[2][0]
        if inner_op is C.LITERAL:
            chars = {inner}
        elif inner_op is C.IN and inner and all(kind is C.LITERAL for kind, _ in inner):
            chars = {value for _, value in inner}
        else:
            continue
        lows = {chr(c).lower() for c in chars}
        if len(lows) == 1 and all(c < 128 for c in chars):
            found.append(lows.pop() * av[0])
    return tuple(found)


def lowered(text: str) -> str:
    """`text` in lower case with every offset kept (characters whose lower case is longer stay as they are)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def may_match(anchor_sets: Anchors, haystack: str) -> bool:
    """Whether a pattern with these anchors can match the text (always True without anchors)."""
    return all(any(a in haystack for a in group) for group in anchor_sets)


class AnchorIndex:
    """Finds every anchor of every pattern in one pass over a letter (Aho-Corasick when the
    `ahocorasick` package is there, else one substring search per anchor)."""

    def __init__(self, anchor_strings: set[str]):
        self.strings = sorted(anchor_strings)
        self._automaton = None
        try:
            import ahocorasick
        except ImportError:  # still correct, only slower
            return
        if self.strings:
            automaton = ahocorasick.Automaton()
            for s in self.strings:
                automaton.add_word(s, (s, len(s) - 1))  # the string, and how far its start is before its end
            automaton.make_automaton()
            self._automaton = automaton

    def scan(self, haystack: str) -> dict[str, list[int]]:
        """Start offsets of each anchor found in `haystack`."""
        found: dict[str, list[int]] = {}
        if self._automaton is not None:
            get = found.get
            for end, (s, back) in self._automaton.iter(haystack):
                offsets = get(s)
                if offsets is None:
                    found[s] = [end - back]
                else:
                    offsets.append(end - back)
            return found
        for s in self.strings:
            i = haystack.find(s)
            while i >= 0:
                found.setdefault(s, []).append(i)
                i = haystack.find(s, i + 1)
        return found


def match_starts(
    sets: list[tuple[frozenset[str], int]], found: dict[str, list[int]], reads: int, also: Anchors = ()
) -> list[tuple[int, int]]:
    """Where a match can start, as sorted (first, last) offsets. For each (anchor set, longest match)
    pair: a match of at most that many characters that holds one of the set's strings starts at
    most that far before it. Spans less than `reads` apart are joined: one search reads that far.
    `also`: further anchor sets every match holds (with the one longest match given); a span with
    no string of one of them within that reach is dropped."""
    starts = sorted((o + len(a) - longest, o) for group, longest in sets for a in group for o in found.get(a, ()))
    joined: list[tuple[int, int]] = []
    for first, last in starts:
        if joined and first <= joined[-1][1] + reads:
            if last > joined[-1][1]:
                joined[-1] = (joined[-1][0], last)
        else:
            joined.append((first, last))
    if also and joined:
        longest = sets[0][1]
        for group in also:
            offsets = sorted(o for a in group for o in found.get(a, ()))
            kept = []
            for first, last in joined:
                i = bisect_left(offsets, first)
                if i < len(offsets) and offsets[i] < last + longest:
                    kept.append((first, last))
            joined = kept
    return joined


def finditer_near(regex: re.Pattern, view: str, starts: list[tuple[int, int]] | None, reads: int, start: int, end: int) -> Iterator[re.Match]:
    """The matches `regex.finditer(view, start, end)` gives, searching only the spans where a match
    can start (`starts`, see match_starts; None searches the whole range). An attempt reads at most
    `reads` characters from where it starts, so a search cut off that far past a span finds the same
    first match there as one over the whole range: each span costs about its own length. Every match
    must hold an anchor, so none is empty."""
    if starts is None:
        yield from regex.finditer(view, start, end)
        return
    search = regex.search
    pos = start
    for first, last in starts:
        if first >= end:
            break
        lo, hi = max(pos, first), min(last, end - 1)
        limit = min(end, hi + reads)
        while lo <= hi:
            m = search(view, lo, limit)
            if m is None or m.start() > hi:
                break  # nothing starts in this span (a later start is found again from its own span)
            yield m
            lo = pos = m.end()


def offsets_for(anchor_sets: Anchors, found: dict[str, list[int]]) -> list[int] | None:
    """Where the pattern's most selective anchors stand; None without anchors; [] if it cannot match."""
    if not anchor_sets:
        return None
    for group in anchor_sets:
        for a in group:
            if a in found:
                break
        else:
            return []
    return [o for a in anchor_sets[0] for o in found.get(a, ())]
