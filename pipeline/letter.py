"""A letter as the critic sees it: a same-length plain view, lines, sentences and sections.

Every offset here is an offset into the text exactly as the user gave it: the plain view
blanks HTML markup and control characters with spaces instead of removing them, so a span
found in the plain view quotes the original text at the same place.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache

from . import corpus
from .anchors import lowered
from .models import SECTION_NAMES

_HTML_SIGN = re.compile(r"<\s*/?\s*(p|div|br|html|body|span|li|ul|ol|table|td|tr|font|b|strong|h[1-6])\b[^<>]*>", re.I)
_HTML_BLOCK = re.compile(r"<(style|script|head)\b.*?</\1\s*>|<!--.*?-->|<![^<>]*>", re.I | re.S)
_HTML_TAG = re.compile(r"</?\s*([a-zA-Z][a-zA-Z0-9]*)(?::[a-zA-Z]+)?\b[^<>]*>")
_HTML_TAGS = frozenset(
    "a abbr b big blockquote body br center code col colgroup dd div dl dt em font h1 h2 h3 h4 h5 h6 "
    "head hr html i img li link meta o ol p pre s small span strike strong style sub sup table tbody "
    "td tfoot th thead title tr tt u ul".split()
)
_HTML_BREAKING = frozenset("blockquote br dd div dl dt h1 h2 h3 h4 h5 h6 hr li ol p pre table tr ul title".split())
_ENTITY = re.compile(r"&(#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_ENTITY_CHARS = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": " "}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2060\ufeff]")
_LINE_SEPARATORS = re.compile(r"\r(?!\n)|[\u2028\u2029\x85]")

# A list marker or numbering at the start of a line or sentence: "-", "•", "1.", "(2)", "a)", "Q3:", "一、".
LIST_MARKER = re.compile(
    r"^[ \t]*(?:[-*•·●▪◦>]+(?:[ \t]*\(?\d{1,2}[.)](?=\s))?|#{1,6}(?:[ \t]*\(?\d{1,2}[.)](?=\s))?|\d{1,2}(?:\.\d{1,2}){1,3}[.)]?(?=\s)|\(?\d{1,2}[.)、:：]|\(?[a-zA-Z][.)](?=\s)|\(?[IVX]{1,4}[.)](?=\s)|Q\d{1,2}[.:：)]?|"
    r"step\s*\d{1,2}[.:：)]?|[一二三四五六七八九十]{1,3}[、.．])[ \t]*",
    re.I,
)
# Emphasis, the brackets and the symbols some letters wrap headings in: "**Root cause**", "【Root Cause】",
# "[Actions taken]", "🔎 Root Cause", "✅ Corrective Actions".
_SYMBOLS = "\u2190-\u2bff\ufe0f\U0001f000-\U0001faff"
_EMPHASIS_LEAD = re.compile(rf"[*_\s【\[〔「{_SYMBOLS}]+")
_EMPHASIS_TAIL = re.compile(rf"[*_\s】\]〕」{_SYMBOLS}]")


def _unemphasised(text: str) -> str:
    """`text` without the emphasis, brackets, symbols and blanks around it ("**Root cause:**", "【Root Cause】").
    The tail is taken off in a loop from the end: a pattern anchored there ("[...]+$") would be tried
    again from every blank of a long run of them, which takes quadratic time."""
    lead = _EMPHASIS_LEAD.match(text)
    start = lead.end() if lead else 0
    end = len(text)
    while end > start and _EMPHASIS_TAIL.match(text, end - 1):
        end -= 1
    return text[start:end]


# Words that may open a heading without changing what it is: "First, the reason of the problem:".
_HEADING_LEAD = re.compile(
    r"^(?:(?:the|our|my|a|an|some|and|then|next(?!\s+time\b)|finally|lastly|first(?:ly)?|second(?:ly)?|third(?:ly)?|fourth(?:ly)?|one|two|three|four|five|part \w+|section \w+|step \w+)\b\s*[,:.\-–—]*\s+)+",
    re.I,
)
# A line of courtesy or a request to the reviewer, which is no section's content: "Thank you",
# "Regards", "We kindly ask you to reconsider, as ...".
_COURTESY = re.compile(
    r"(thank|thanks|please|sincerely|(best |kind |warm )?regards)\b"
    r"|(we|i) (would like to |want to )?(kindly |respectfully |humbly |sincerely )?(ask|request|beg|urge|appeal to) (you|amazon|your team|that you)\b"
    r"|(we|i) ((value|love|appreciate|cherish|enjoy|treasure) [^.!?\n\d]{0,50}? and )?(kindly |respectfully |humbly |sincerely )?(ask for|request) (the |a |our )?(reinstatement|reactivation|reconsideration|restoration)"
    r"( of (our|my|the) (account|listings?|selling privileges))?[.!]?$",
    re.I)
# The lines a letter signs with after its last section, when no "Regards," heads them: a name, a
# shop, a title, contact details ("Shenzhen Haoyun E-commerce Co., Ltd.", "Operations manager: Xu Ming").
_CONTACT = re.compile(
    r"(tel|telephone|phone|mobile|fax|e-?mail|wechat|whatsapp|skype|web|website|seller id|merchant (token|id)|"
    r"store|shop|address|company)\s*[:：]|\S+@\S+\.\w+$|(https?://|www\.)\S+$", re.I)
_COMPANY_END = re.compile(r"\b(ltd|co|inc|llc|corp|gmbh|plc|jr|sr)\.$|(公司|商行|商贸|贸易|店)$", re.I)
_NAME_WORD = re.compile(r"[A-Za-z][A-Za-z'’&.-]*")
# At most this many lines of such a sign-off.
_SIGNOFF_LINES = 4
# Empty numbering left on one line ("1. 2. 3."): no content, however many numbers.
_NUMBERING_ONLY = re.compile(r"^(?:\s*\(?\d{1,2}[.)、]\s*)+$")
# Chinese, Japanese and Korean characters: text that is not English on its face.
CJK = re.compile(r"[\u3400-\u9fff\u3040-\u30ff\uac00-\ud7af]")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?|[\u3400-\u9fff]")
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)|[。！？]+[”’」）]*")
_ABBREVIATIONS = frozenset(
    "e.g i.e etc no nos mr mrs ms dr inc ltd co corp vs st approx dept fig att jan feb mar apr jun jul aug "
    "sep sept oct nov dec u.s u.k p.s a.m p.m".split()
)
_TRAILING_PUNCT = ".。;；,，:："
# Text with no sentence ends (a pasted table, 1 MB on one line) is cut into pieces of at most this
# many characters, at a clause break or a space, so that every check works on a bounded span.
MAX_SENTENCE = 600
# Characters either side of an anchor in which a pattern without a bounded length runs (Letter.windows).
WINDOW_RADIUS = 300
_COLON = re.compile(r"[:：]")
_DASH = re.compile(r"\s[-–—]\s")  # "Next steps - we check ...": a heading set off by a dash
_HEADING_END = re.compile(r"[:：?？]\s*[*_]*\s*$")
_CLAUSE_BREAK = re.compile(r"[,;，；]\s|\s")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    section: str | None  # a SectionName, "other", or None before the first heading


@dataclass(frozen=True)
class Heading:
    start: int
    end: int
    sections: tuple[str, ...]  # SectionNames, or ("other",) for headings like "Attachments"
    inferred: bool = False
    body_start: int = -1  # where the section text begins (after an inline "Root cause:")


def _bare_line(line: str) -> str:
    """A line as its words: list marker and empty numbering taken off, space trimmed."""
    return _NUMBERING_ONLY.sub("", LIST_MARKER.sub("", line)).strip()


@dataclass
class Section:
    name: str
    heading: Heading
    body_start: int
    body_end: int

    def has_content(self, plain: str) -> bool:
        """A written line under the heading: five words, a finished sentence or two list items, so
        that a bare signature ("Wang Fang, Warehouse Lead"), empty numbering or a line of thanks
        does not count."""
        items = 0
        # The text after an inline heading ("- Prevention: check dates") is an item like the lines below it.
        inline = self.body_start > 0 and plain[self.body_start - 1] != "\n"
        for i, line in enumerate(plain[self.body_start : self.body_end].split("\n")):
            listed = LIST_MARKER.match(line) is not None or (i == 0 and inline)
            line = _bare_line(line)
            if _COURTESY.match(line):  # "Thank you, please reinstate ..." under an empty heading
                continue
            words = len(_WORD.findall(line))
            if words >= 5 or (words >= 2 and line.endswith((".", "!", "?", "。", "！", "？"))):
                return True
            items += listed and words >= 2
            if items >= 2:  # terse list items ("* Checked the stock", "* Removed some units") are content
                return True
        return False


@dataclass
class Letter:
    text: str
    plain: str
    line_starts: list[int]
    headings: list[Heading] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    # For a letter without section headings: which sections its sentences supply, judged by content.
    inferred: dict[str, bool] | None = None
    _starts: list[int] | None = field(default=None, repr=False)
    _memo: dict = field(default_factory=dict, repr=False)

    def scanned(self, lex, start: int, end: int):
        """The plain text at start:end as the lexicon reads it (Lexicon.scan), once per letter. Its
        anchors come from the one pass over the whole letter (anchor_hits), unless the letter has a
        capital sigma: only that letter's lower case depends on what follows it, so only then may
        a piece's lower-case view differ from the same piece of the letter's."""
        key = ("scanned", start, end)
        found = self._memo.get(key)
        if found is None:
            if "\u03a3" in self.plain:
                found = lex.scan(self.plain[start:end])
            else:
                located = self._memo.get("located")
                if located is None:
                    located = self._memo["located"] = lex.locate(self.anchor_hits(True), self.anchor_hits(False))
                found = lex.scan_located(self.plain[start:end], self.lowered[start:end], located, start, end)
            self._memo[key] = found
        return found

    def has(self, lex, group: str, start: int, end: int) -> bool:
        """Whether the plain text at start:end matches a lexicon group; remembered per letter."""
        key = (group, start, end)
        if key not in self._memo:
            self._memo[key] = lex.has(group, self.scanned(lex, start, end))
        return self._memo[key]

    @property
    def lowered(self) -> str:
        """The plain view in lower case, same offsets, for anchor look-ups."""
        if "lowered" not in self._memo:
            self._memo["lowered"] = lowered(self.plain)
        return self._memo["lowered"]

    def anchor_hits(self, folded: bool) -> dict[str, list[int]]:
        """Every rule anchor found in this letter (lower-case view or exact text), computed once."""
        key = ("anchors", folded)
        if key not in self._memo:
            from .rules import pattern_index

            index = pattern_index().indexes[0 if folded else 1]
            self._memo[key] = index.scan(self.lowered if folded else self.plain)
        return self._memo[key]

    def windows(self, offsets: list[int], radius: int = WINDOW_RADIUS) -> list[tuple[int, int]]:
        """Merged spans around the given offsets: `radius` characters either side, widened to the
        nearest line break within another `radius`, so a span rarely cuts a sentence."""
        plain, size = self.plain, len(self.plain)
        spans: list[tuple[int, int]] = []
        for o in sorted(set(offsets)):
            lo, hi = max(0, o - radius), min(size, o + radius)
            if spans and lo <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
            else:
                spans.append((lo, hi))
        widened = []
        for lo, hi in spans:
            if lo > 0:
                brk = plain.rfind("\n", max(0, lo - radius), lo)
                lo = brk + 1 if brk >= 0 else max(0, lo - radius)
            if hi < size:
                brk = plain.find("\n", hi, min(size, hi + radius))
                hi = brk if brk >= 0 else min(size, hi + radius)
            if widened and lo <= widened[-1][1]:
                widened[-1] = (widened[-1][0], max(widened[-1][1], hi))
            else:
                widened.append((lo, hi))
        return widened

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of an offset."""
        line = bisect_right(self.line_starts, offset) - 1
        return line + 1, offset - self.line_starts[line] + 1

    def sentence_at(self, offset: int) -> Sentence | None:
        if self._starts is None or len(self._starts) != len(self.sentences):
            self._starts = [s.start for s in self.sentences]
        i = bisect_right(self._starts, offset) - 1
        if i >= 0 and self.sentences[i].start <= offset < max(self.sentences[i].end, self.sentences[i].start + 1):
            return self.sentences[i]
        return None

    def content_sentences(self, section: Section) -> list[Sentence]:
        """The sentences under a heading that could be its content: two words or more, and not a line
        of courtesy or a request to the reviewer (Section.has_content reads lines the same way)."""
        found = []
        for s in self.sentences:
            if s.start < section.body_start:
                continue
            if s.start >= section.body_end:
                break
            line = _bare_line(self.plain[s.start : s.end])
            if not _COURTESY.match(line) and len(_WORD.findall(line)) >= 2:
                found.append(s)
        return found

    def section_of(self, offset: int) -> str | None:
        owner = None
        for heading in self.headings:
            if heading.start > offset:
                break
            owner = heading
        return owner.sections[0] if owner and len(owner.sections) == 1 else (
            "combined" if owner else None
        )


def word_count(text: str) -> int:
    """English words plus Chinese characters (each Chinese character reads as a word)."""
    return len(_WORD.findall(text))


def plain_view(text: str) -> str:
    """`text` with markup and control characters blanked, same length, so offsets carry over."""
    flat = _LINE_SEPARATORS.sub("\n", _CONTROL.sub(" ", text)).replace("\r", " ").replace("\t", " ").replace("\u00a0", " ")
    if not _HTML_SIGN.search(text):
        return flat
    chars = list(flat)
    for m in _HTML_BLOCK.finditer(text):
        chars[m.start() : m.end()] = [" " if c != "\n" else "\n" for c in text[m.start() : m.end()]]
    for m in _HTML_TAG.finditer(text):
        name = m.group(1).lower()
        if name not in _HTML_TAGS:
            continue  # "<insert date>" is a placeholder, not markup
        chars[m.start() : m.end()] = [" "] * (m.end() - m.start())
        if name in _HTML_BREAKING:
            chars[m.start()] = "\n"
    for m in _ENTITY.finditer(text):
        name = m.group(1)
        if name.startswith("#"):
            try:
                code = int(name[2:], 16) if name[1:2] in "xX" else int(name[1:])
                char = chr(code) if code < 0x110000 and chr(code).isprintable() else " "
            except ValueError:
                char = " "
        else:
            char = _ENTITY_CHARS.get(name.lower(), " ")
        chars[m.start() : m.end()] = [char] + [" "] * (m.end() - m.start() - 1)
    return "".join(chars)


@lru_cache(maxsize=1)
def _section_patterns() -> dict:
    data = corpus.load("sections.toml")
    compiled = {}
    for key, spec in data.items():
        compiled[key] = {
            "headings": re.compile("|".join(f"(?:{p})" for p in spec.get("headings", [])), re.I)
            if spec.get("headings")
            else None,
            "cues": re.compile("|".join(f"(?:{p})" for p in spec.get("cues", [])), re.I) if spec.get("cues") else None,
        }
    return compiled


_PRIORITY = ("combined", "closing", "other", "preventive_measures", "root_cause", "actions", "corrective_actions")


@lru_cache(maxsize=1)
def _actions_tense() -> tuple[re.Pattern, re.Pattern]:
    """What tells an untensed actions heading's text as done, and as to come (sections.toml [actions])."""
    spec = corpus.load("sections.toml")["actions"]
    return tuple(re.compile("|".join(f"(?:{p})" for p in spec[key]), re.I) for key in ("done", "to_come"))


def _resolve_actions(headings: list[Heading], plain: str) -> list[Heading]:
    """A heading that names actions without tense ("What we will do", "Actions:") takes its place
    from its neighbours: corrective when a preventive heading follows and no corrective one came
    before; with neither, corrective when what is under it is told as done and nothing as to come
    ("Actions: we fixed the repricer and refunded customers"); otherwise preventive."""
    resolved = []
    for i, h in enumerate(headings):
        if h.sections == ("actions",):
            before = {k for g in headings[:i] for k in g.sections}
            after = {k for g in headings[i + 1 :] for k in g.sections}
            if "corrective_actions" in before:
                kind = "preventive_measures"
            elif "preventive_measures" in after:
                kind = "corrective_actions"
            else:
                body = plain[h.body_start : headings[i + 1].start if i + 1 < len(headings) else len(plain)]
                done, to_come = _actions_tense()
                kind = "corrective_actions" if done.search(body) and not to_come.search(body) else "preventive_measures"
            h = Heading(h.start, h.end, (kind,), h.inferred, h.body_start)
        resolved.append(h)
    return resolved


@lru_cache(maxsize=8192)
def _classify_heading(candidate: str) -> tuple[str, ...] | None:
    patterns = _section_patterns()
    raw = candidate.strip().rstrip(" :：?？*_")
    stripped = _HEADING_LEAD.sub("", candidate).rstrip(" :：?？*_")
    for text in (stripped, raw) if stripped != raw else (stripped,):
        for key in _PRIORITY:
            rx = patterns.get(key, {}).get("headings")
            if rx is not None and rx.search(text):
                if key == "combined":
                    return ("corrective_actions", "preventive_measures")
                return (key,)
    return None


@lru_cache(maxsize=1)
def _heading_words() -> tuple[int, list[tuple[str, re.Pattern]]]:
    spec = corpus.load("sections.toml").get("heading_words", {})
    order = (("future", "preventive_measures"), ("cause", "root_cause"), ("done", "corrective_actions"),
             ("trouble", "root_cause"), ("actions", "actions"))
    classes = [
        (kind, re.compile(r"(?<![a-z])(?:" + "|".join(spec[key]) + r")(?![a-z])", re.I))
        for key, kind in order
        if spec.get(key)
    ]
    return int(spec.get("max_words", 8)), classes


# What opens a sentence or a salutation rather than a heading: "We fixed it", "Dear team", "Re: ...".
_NOT_HEADING_START = re.compile(
    r"^(we|i|you|they|he|she|it|this|that|these|those|please|dear|hi|hello|hey|thank|thanks|re|fw|fwd|subject|from|to|cc|sent|date|name)\b"
    r"|^.*?\b(plan of action|poa|appeal)\b",  # the letter's title, not one of its parts: "AMAZON PLAN OF ACTION – TEMPLATE (completed)"
    re.I,
)


# What opens a promise, which no heading is: "Won't happen again", "We will make sure it won't happen again".
_PROMISE = re.compile(
    r"^((it|this|that|we|i|such( \w+){1,2}|the same( \w+)?)\s+)?(will|won\W?t|shall|would never|never|promise|guarantee|assure|make sure)\b",
    re.I)


_DOTTED_HEADING = re.compile(r"\s*([^.!?:：\n]{2,60}?)\.(?:\s+|$)")
_MAX_NOTE = 82  # a note in brackets at the end of a heading line, brackets included
_TRAILING_NOTE = re.compile(rf"[(（][^()（）\n]{{0,{_MAX_NOTE - 2}}}[)）]$")
_FINITE_VERB = re.compile(r"\b(is|are|was|were|be|been|will|would|has|have|had|do|does|did)\b", re.I)
_WH_HEADING = re.compile(r"(what|why|how|where)\b", re.I)
_TERSE = re.compile(r"(already|all|now|just)\b", re.I)


def _bare_dotted(label: str) -> bool:
    """Whether the words before a line's first full stop, with no list number before them, can be a
    heading: a part's name of at most four words and no verb ("Corrective actions already taken."),
    or a question word's clause of at most six ("What I have already done."); not a sentence
    ("Prevention is better than cure.") nor a terse reply ("Done.", "Already done.")."""
    label = label.strip()
    words = word_count(label)
    if _WH_HEADING.match(label):
        return words <= 6
    return 2 <= words <= 4 and not _FINITE_VERB.search(label) and not _TERSE.match(label)


# The label of one item in a list, not a heading: "- Step 1: We removed the item", "Action 2.1 - 8 May
# 2026: ...", "Measure 3.2:".
_ENUMERATOR = re.compile(r"^(step|action|measure|item|point|finding|reason|fix|change)\s*#?\d{1,2}(\.\d{1,2})*[.)]?"
                         r"(\s*[-–—]\s.*)?$", re.I)


# A clause introducing a list, not a heading: "Our listing checklist (v4, attached) now includes:".
_CLAUSE = re.compile(r"((our|my|the)\s+)?[\w-]+(\s+[\w-]+)?(\s*\([^()]*\))?\s+(now\s+|also\s+)?"
                     r"(includes|contains|covers|lists|requires|reads|says|states)\b", re.I)


@lru_cache(maxsize=8192)
def _classify_by_words(candidate: str) -> tuple[str, ...] | None:
    """A short heading no heading pattern names, read by the classes of its words."""
    max_words, classes = _heading_words()
    text = _HEADING_LEAD.sub("", candidate).strip().rstrip(" :：?？*_")
    if not text or word_count(text) > max_words or _NOT_HEADING_START.match(text) or _ENUMERATOR.match(text) or _CLAUSE.match(text):
        return None
    for kind, rx in classes:
        if rx.search(text):
            return (kind,)
    return None


_MAX_HEADING_CJK = 16  # characters of Chinese beside the English of a heading in both languages


def _bilingual_heading(text: str) -> tuple[str, ...] | None:
    """The parts a line names when it is a short Chinese heading beside its English one."""
    cjk = CJK.findall(text)
    if not cjk or len(cjk) > _MAX_HEADING_CJK:
        return None
    english = CJK.sub(" ", text).strip(" /|｜-–—:：()（）【】")
    if not english or word_count(english) > _heading_words()[0]:
        return None
    kinds = _classify_heading(english)
    return kinds if kinds != ("closing",) else None


def _heading_form(rest: str, marker: re.Match | None) -> bool:
    """A whole line shaped like a heading: ends in ":" or "?", or stands alone with no sentence end
    and no bullet ("- Removed the listing" is an item, not a heading)."""
    tail = _unemphasised(rest)
    if re.search(r"[:：?？]$", tail):
        return True
    bullet = marker is not None and re.match(r"\s*[-*•·●▪◦>]", marker.group())
    return not bullet and not tail.endswith((".", "。", "!", "！", ",", "，", ";", "；"))


def _table_row(line: str) -> bool:
    """A table row of three cells or more ("Action | Date | Evidence"): the columns of what follows,
    not a heading. (Split, not a pattern: a pattern with two open runs backtracks on a 1 MB line.)"""
    return line.count("|") >= 2 and sum(1 for cell in line.split("|") if cell.strip(" \t-:")) >= 3


def _find_headings(plain: str, line_starts: list[int]) -> list[Heading]:
    headings: list[Heading] = []
    seen: set[str] = set()
    cue_lines: list[tuple[int, int, str]] = []
    for i, start in enumerate(line_starts):
        end = _line_end(plain, line_starts, i)
        line = plain[start:end]
        stripped = line.strip()
        if not stripped or _table_row(stripped):
            continue
        long_line = len(stripped) > 160  # a paragraph: only an inline heading ("Root cause: ...") may open it
        marker = LIST_MARKER.match(line)
        offset = marker.end() if marker else 0
        rest = line[offset:]
        colon = _COLON.search(rest)
        whole = _unemphasised(rest)
        whole_words = word_count(whole)
        candidate, body_start = None, None
        # A template's question after the heading does not make it a sentence: "Section 3 – Preventive
        # measures (how will you prevent it in future?)".
        note = _TRAILING_NOTE.search(whole, max(0, len(whole) - _MAX_NOTE))  # from the tail: a 1 MB line stays linear
        bare = whole[: note.start()].rstrip() if note else whole
        ends_like_heading = (word_count(bare) <= 10 and not bare.endswith((".", "。"))) or _HEADING_END.search(rest)
        label = _unemphasised(rest[: colon.start()]) if colon and word_count(rest[: colon.start()]) <= 8 else None
        dash = _DASH.search(rest)
        dashed = _unemphasised(rest[: dash.start()]) if dash and word_count(rest[: dash.start()]) <= 5 else None
        if label and rest[colon.end():].strip() and _classify_heading(label):
            # A heading with its text after it on the line heads that text: "Prevention: check dates".
            candidate, body_start = label, start + offset + colon.end()
        elif dashed and rest[dash.end():].strip() and not _ENUMERATOR.match(dashed) and _classify_heading(dashed):
            candidate, body_start = dashed, start + offset + dash.end()
        elif whole and whole_words <= 14 and ends_like_heading and not long_line:
            candidate, body_start = whole, end
        elif label:
            candidate, body_start = label, start + offset + colon.end()
        if candidate and _ENUMERATOR.match(_HEADING_LEAD.sub("", candidate).strip().rstrip(" :：")):
            candidate = None  # an item's label, not a heading
        kinds = _classify_heading(candidate) if candidate else None
        if kinds is None:
            # A numbered heading closed by a full stop, alone or with its text after it on the line:
            # "3. Corrective actions completed.", "2. Root cause. Our listing procedure did not ...".
            # Without a number, only a part's bare name, no sentence: "Corrective actions completed."
            dotted = _DOTTED_HEADING.match(rest)
            if dotted and (word_count(dotted.group(1)) <= 5 if marker else _bare_dotted(dotted.group(1))):
                found = _classify_heading(_unemphasised(dotted.group(1)))
                # Not an item of the part just opened: "3. Better carrier in future." under "PREVENTIVE MEASURES".
                if found and found != ("closing",) and not (headings and headings[-1].sections == found):
                    kinds, candidate = found, dotted.group(1)
                    body_start = start + offset + dotted.end() if dotted.end() < len(rest.rstrip()) else end
        if kinds is None and candidate and (body_start != end or _heading_form(rest, marker)):
            kinds = _classify_by_words(candidate)
        if kinds is None and whole and candidate in (None, whole) and _heading_form(rest, marker):
            # A heading in both languages, each character of its Chinese counted as a word above:
            # "二、已完成的纠正措施 Corrective Actions Completed", "二、已完成的整改 (Corrective actions
            # completed)" head the part their English names.
            kinds = _bilingual_heading(whole)
            if kinds:
                candidate, body_start = whole, end
        if kinds is None and whole and whole_words <= 12 and not long_line and _classify_heading(whole) == ("closing",):
            # Sign-offs end the last section even when written as a sentence: "Thank you for reading."
            candidate, body_start, kinds = whole, end, ("closing",)
        if kinds and kinds != ("closing",) and _PROMISE.match(_HEADING_LEAD.sub("", candidate).strip()) and not _HEADING_END.search(rest):
            kinds = None  # a promise on a line of its own, not a heading: "Won't happen again.", "- We will make sure it won't happen again"
        if kinds:
            headings.append(Heading(start + offset, body_start, kinds, body_start=body_start))
        else:
            cue_lines.append((start, end, line))
    for h in headings:
        seen.update(h.sections)
    # Paragraphs that open a section without a heading ("The root cause was ...", "To prevent this ...").
    patterns = _section_patterns()
    for start, _end, line in cue_lines:
        marker = LIST_MARKER.match(line)
        offset = marker.end() if marker else len(line) - len(line.lstrip())
        head = line[offset:]
        for key in SECTION_NAMES:
            cues = patterns.get(key, {}).get("cues")
            if key not in seen and cues is not None and cues.match(head):
                headings.append(Heading(start + offset, start + offset, (key,), inferred=True, body_start=start + offset))
                seen.add(key)
                break
    headings.sort(key=lambda h: h.start)
    # After the cues, so that "What we will do" followed by "Going forward, we ..." reads as corrective.
    return _resolve_actions(headings, plain)


def _label(plain: str, heading: Heading) -> str:
    return plain[heading.start : heading.end].strip().rstrip(" :：-–—").lower()


def _sections(plain: str, headings: list[Heading]) -> list[Section]:
    sections: list[Section] = []
    for i, heading in enumerate(headings):
        body_end = headings[i + 1].start if i + 1 < len(headings) else len(plain)
        for name in heading.sections:
            if name not in SECTION_NAMES:
                continue
            last = sections[-1] if sections else None
            if (last and last.name == name and last.body_end == heading.start
                    and _label(plain, last.heading) == _label(plain, heading)):
                # The same heading on each item ("- Action: removed the units", "- Action: retrained
                # the staff"): one section that holds them all.
                last.body_end = max(heading.body_start, body_end)
                continue
            sections.append(Section(name, heading, heading.body_start, max(heading.body_start, body_end)))
    return sections


def _signoff_line(line: str) -> bool:
    """A line a letter may sign with: contact details, or a few words most of them capitalised and
    no sentence ("Leo Marchetti", "Operations manager: Xu Ming", "深圳鑫越贸易有限公司")."""
    bare = line.strip()
    if not bare or len(bare) > 120 or LIST_MARKER.match(line) or len(_WORD.findall(bare)) > 8:
        return False
    if _CONTACT.match(bare):
        return True
    if bare.endswith(tuple(".!?。！？:：")) and not _COMPANY_END.search(bare):
        return False
    if CJK.search(bare):
        return _COMPANY_END.search(bare) is not None and len(bare) <= 20
    words = _NAME_WORD.findall(bare)
    capitalised = sum(w[0].isupper() for w in words)
    return bool(words) and words[0][0].isupper() and capitalised * 2 >= len(words)


def _signoff_start(plain: str, line_starts: list[int], start: int) -> int | None:
    """Where a sign-off without its own heading begins, among the last lines of the letter after
    `start`: up to four lines of names and contact details at the end, set off from what comes
    before by a blank line or a line of courtesy ("Thank you very much!!"). Terse items right under a
    heading ("Weekly Stock Audit") are the section's content, not a sign-off. None: no such lines."""
    i = len(line_starts) - 1
    while i >= 0 and not plain[line_starts[i] : _line_end(plain, line_starts, i)].strip():
        i -= 1
    first = None
    while i >= 0 and line_starts[i] >= start and (first is None or first - i < _SIGNOFF_LINES):
        if not _signoff_line(plain[line_starts[i] : _line_end(plain, line_starts, i)]):
            break
        first, i = i, i - 1
    if first is None or i < 0 or line_starts[i] < start:
        return None
    before = _bare_line(plain[line_starts[i] : _line_end(plain, line_starts, i)])
    return line_starts[first] if not before or _COURTESY.match(before) else None


def _line_end(plain: str, line_starts: list[int], i: int) -> int:
    """Where line `i` ends, before its newline."""
    return line_starts[i + 1] - 1 if i + 1 < len(line_starts) else len(plain)


def _split_sentences(plain: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside one line, trimmed of white space and list markers."""
    spans: list[tuple[int, int]] = []
    cursor = start
    # The line's end is where the search stops, as if the line were the whole text.
    for m in _SENTENCE_END.finditer(plain, start, end):
        stop = m.end()
        if plain[m.start()] == ".":
            # The run of letters (any script: "atenção." is no initial "o.") and full stops just
            # before it, back to the sentence start.
            first = m.start()
            while first > cursor and (plain[first - 1] == "." or plain[first - 1].isalpha()):
                first -= 1
            word = plain[first : m.start()].lower().rstrip(".")
            # A letter after an apostrophe ends a word ("another seller's."), and one after a digit
            # ends an identifier ("removal order R7TQ2MX84L."): neither is an initial.
            word_end = first > cursor and (plain[first - 1] in "'’" or plain[first - 1].isdigit())
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha() and not word_end):
                continue
        spans.append((cursor, stop))
        cursor = stop
    if cursor < end:
        spans.append((cursor, end))
    bounded = []
    for a, b in spans:
        while b - a > MAX_SENTENCE:
            window = plain[a + MAX_SENTENCE // 2 : a + MAX_SENTENCE]
            breaks = [m.end() for m in _CLAUSE_BREAK.finditer(window) if m.group()[0] in ",;，；"]
            if not breaks:
                breaks = [m.end() for m in _CLAUSE_BREAK.finditer(window)]
            cut = a + MAX_SENTENCE // 2 + (breaks[-1] if breaks else len(window))
            bounded.append((a, cut))
            a = cut
        bounded.append((a, b))
    spans = bounded
    trimmed = []
    for a, b in spans:
        piece = plain[a:b]
        marker = LIST_MARKER.match(piece)
        lead = marker.end() if marker else len(piece) - len(piece.lstrip())
        a2, b2 = a + lead, a + len(piece.rstrip())
        if b2 > a2 and _WORD.search(plain, a2, b2):
            trimmed.append((a2, b2))
    return trimmed


def read(text: str) -> Letter:
    """Analyse a letter: plain view, lines, headings, sections and sentences."""
    plain = plain_view(text)
    line_starts = [0] + [m.end() for m in re.finditer("\n", plain)]
    headings = _find_headings(plain, line_starts)
    letter = Letter(text=text, plain=plain, line_starts=line_starts, headings=headings)
    letter.sections = _sections(plain, headings)
    # The names a letter is signed with are not its last part's content.
    last = [s for s in letter.sections if s.body_end == len(plain)]
    signoff = _signoff_start(plain, line_starts, last[0].body_start) if last else None
    if signoff is not None:
        for section in last:
            section.body_end = signoff
    heading_ranges = [(h.start, h.body_start) for h in headings if not h.inferred]
    range_starts = [r[0] for r in heading_ranges]
    owner_index = 0
    current: str | None = None
    for i, line_start in enumerate(line_starts):
        line_end = _line_end(plain, line_starts, i)
        if line_end <= line_start:
            continue  # an empty line holds no sentence
        for a, b in _split_sentences(plain, line_start, line_end):
            # Skip the heading text itself; keep the body of an inline heading ("Root cause: we ...").
            j = bisect_right(range_starts, a) - 1
            if j >= 0 and a < heading_ranges[j][1]:
                a = heading_ranges[j][1]
                if a >= b:
                    continue
                while a < b and plain[a].isspace():
                    a += 1
            while owner_index < len(headings) and headings[owner_index].start <= a:
                kinds = headings[owner_index].sections
                current = kinds[0] if len(kinds) == 1 else "combined"
                owner_index += 1
            letter.sentences.append(Sentence(a, b, current))
    return letter
