"""The offline notice reader: what an Amazon performance notice alleges and asks for.

`parse_notice(text)` reads a notice as the seller pasted it (plain text, an e-mail with headers,
quoted "> " lines and signatures, raw HTML, English or Chinese) and returns a `Notice`: the
violation with a confidence and ranked candidates, and the identifiers, metrics, dates, deadline,
documents and policies the notice states. The knowledge (weighted patterns, document phrases,
policy and marketplace names) lives in `corpus/notice.toml`; this module only applies it.

It never raises on a str: empty, binary-looking or oversized text gives "other" with confidence 0
and a warning. Every regular expression here runs in linear time (bounded or unambiguous
quantifiers only), so a megabyte of text stays fast.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

from . import corpus
from .anchors import lowered
from .letter import plain_view
from .models import METRICS, VIOLATIONS, Candidate, Metric, Notice

_DATA_FILE = "notice.toml"

# --- loading the data ---------------------------------------------------------------------------


_ESCAPE_OR_TEXT = re.compile(r"\\.|[^\\]+", re.S)


def _lower_pattern(pattern: str) -> str:
    """Lower-case a pattern's text but not its escapes (`\\W` must stay `\\W`)."""
    return _ESCAPE_OR_TEXT.sub(lambda m: m.group() if m.group().startswith("\\") else m.group().lower(), pattern)


class _Rx:
    """A data pattern matched against lower-cased text.

    Lower-casing the text once and compiling without re.I lets the regex engine skip ahead on a
    literal prefix, several times faster than re.I; the word-start check for patterns that begin
    with an ASCII letter or digit is done on each hit instead of with a look-behind for the same reason.
    """

    __slots__ = ("rx", "bounded", "source")

    def __init__(self, pattern: str):
        self.source = pattern
        self.rx = re.compile(_lower_pattern(pattern))
        if self.rx.groups:
            raise ValueError(f"{_DATA_FILE}: use (?:...) groups only, in {pattern!r}")
        self.bounded = pattern[:1].isascii() and pattern[:1].isalnum()

    def finditer(self, low: str):
        for m in self.rx.finditer(low):
            if self.bounded and m.start() > 0 and low[m.start() - 1].isascii() and low[m.start() - 1].isalnum():
                continue
            yield m

    def search(self, low: str):
        return next(self.finditer(low), None)


def _alternation(patterns: list[str], *, word_end: bool = False) -> re.Pattern:
    """One case-insensitive regex for the original text (used where the text's case matters too)."""
    parts = []
    for p in sorted(patterns, key=len, reverse=True):
        if p[:1].isascii() and p[:1].isalnum():
            parts.append(r"(?<![A-Za-z0-9])(?:" + p + ")" + (r"(?![A-Za-z])" if word_end else ""))
        else:
            parts.append("(?:" + p + ")")
    return re.compile("|".join(parts), re.I)


class _RxAny:
    """The earliest hit of any of several data patterns."""

    __slots__ = ("parts",)

    def __init__(self, patterns: list[str]):
        self.parts = [_Rx(p) for p in patterns]

    def search(self, low: str):
        hits = [m for m in (p.search(low) for p in self.parts) if m]
        return min(hits, key=lambda m: m.start()) if hits else None


@dataclass(frozen=True)
class _Knowledge:
    limits: dict
    classifier: dict
    metric_defaults: dict
    metric_names: dict  # metric -> compiled alternation
    metric_any: re.Pattern  # any metric name, group names are metric ids
    violations: dict  # violation -> list[(weight, _Rx)], matched against lower-cased text
    documents: list  # [(id, _RxAny)]
    policies: list  # [(name, _RxAny)]
    market_domain: re.Pattern
    market_names: list  # [(domain, pattern)]
    complaint_label: re.Pattern
    rights_label: re.Pattern
    lookback_before: re.Pattern
    lookback_after_zh: re.Pattern


@lru_cache(maxsize=1)
def _knowledge() -> _Knowledge:
    data = corpus.load(_DATA_FILE)
    # A metric name may be wrapped over two lines in a quoted e-mail: "Late Shipment\nRate".
    metric_names = {m: _alternation([p.replace(" ", r"\s+") for p in data["metric_names"][m]], word_end=True)
                    for m in METRICS}
    metric_any = re.compile(
        "|".join(f"(?P<{m}>{metric_names[m].pattern})" for m in METRICS),
        re.I,
    )
    violations = {}
    for vid, spec in data["violations"].items():
        if vid not in VIOLATIONS:
            raise ValueError(f"{_DATA_FILE}: unknown violation {vid!r}")
        violations[vid] = [(float(weight), _Rx(pattern)) for weight, pattern in spec["patterns"]]
    documents = [(doc, _RxAny(pats)) for doc, pats in data["documents"].items()]
    policies = [(name, _RxAny(pats)) for name, pats in data["policies"].items()]
    domains = sorted(data["marketplaces"]["domains"], key=len, reverse=True)
    market_domain = re.compile(
        r"(?P<pre>[\w@.-]?)(?:www\.)?(?P<domain>" + "|".join(re.escape(d) for d in domains) + r")(?![\w-]|\.[A-Za-z])",
        re.I,
    )
    market_names = [(dom, _RxAny(pats)) for dom, pats in data["marketplaces"]["names"].items()]
    ident = data["identifiers"]
    return _Knowledge(
        limits=data["limits"],
        classifier=data["classifier"],
        metric_defaults=data["metric_defaults"],
        metric_names=metric_names,
        metric_any=metric_any,
        violations=violations,
        documents=documents,
        policies=policies,
        market_domain=market_domain,
        market_names=market_names,
        complaint_label=_alternation(ident["complaint_labels"]),
        rights_label=_alternation(ident["rights_labels"]),
        lookback_before=re.compile(
            r"(?:" + "|".join(re.escape(w) for w in data["deadline"]["lookback_before"]) + r")\s*$", re.I
        ),
        lookback_after_zh=re.compile("^(?:" + "|".join(re.escape(w) for w in data["deadline"]["lookback_after_zh"]) + ")"),
    )


# --- fixed patterns (format, not knowledge) ------------------------------------------------------

_QUOTE_MARKS = re.compile(r"(?m)^[ \t]*(?:>[ \t]?)+")
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_ORDER_ID = re.compile(r"(?<![\d-])\d{3}-\d{7}-\d{7}(?![\d-])")
_ASIN_B0 = re.compile(r"(?<![A-Za-z0-9])B0[A-Z0-9]{8}(?![A-Za-z0-9])")
_ASIN_LABEL = re.compile(r"(?<![A-Za-z])ASINs?\b[ \t]*(?:[:#=][ \t]*)?", re.I)
_LIST_ITEM_ASIN = re.compile(r"[ \t]*([A-Z0-9]{10})(?![A-Za-z0-9])")
_LIST_SEP = re.compile(r"[ \t]*(?:[,;/、，；]|and\b|和)[ \t]*", re.I)
_COMPLAINT_VALUE = re.compile(r"[ \t]*(?:s\b)?[ \t]*(?:[:#][ \t]*)?([A-Za-z0-9][A-Za-z0-9-]{3,30})(?![A-Za-z0-9-])")
_RIGHTS_VALUE = re.compile(
    r"[ \t]*(?:[:#][ \t]*|is[ \t]+)?((?:[A-Z]{1,4}[ \t]?)?\d[\d,./-]{0,20}(?:[ \t][A-Z]\d?(?![A-Za-z0-9]))?)"
)
_SENTENCE = re.compile(r"[^.!?。！？\n]+")
_REASON = re.compile(
    r"because|due to|as a result|reaching out|reason|subject\s*:|policy\s*:|violat|"
    r"因为|由于|因此|原因|违反|主题\s*:",
    re.I,
)

_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
            ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
            ("oct", "october"), ("nov", "november"), ("dec", "december"),
        ),
        start=1,
    )
    for m in names
}
# Notices from amazon.de / amazon.fr keep the local month names in their e-mail headers.
for _i, _names in enumerate(
    (
        ("janv", "janvier", "januar", "jän"), ("févr", "février", "februar"), ("mars", "märz", "maerz"),
        ("avr", "avril"), ("mai",), ("juin", "juni"), ("juil", "juillet", "juli"), ("août", "aout"),
        ("septembre",), ("okt", "octobre", "oktober"), ("novembre",), ("déc", "décembre", "dez", "dezember"),
    ),
    start=1,
):
    _MONTHS.update(dict.fromkeys(_names, _i))
_MONTH_RX = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE = re.compile(
    r"(?<!\d)(?P<iy>(?:19|20)\d\d)[-/.](?P<im>\d{1,2})[-/.](?P<id>\d{1,2})(?!\d)"
    r"|(?P<cy>(?:19|20)\d\d)[ \t]*年[ \t]*(?P<cm>\d{1,2})[ \t]*月[ \t]*(?P<cd>\d{1,2})[ \t]*[日号]"
    r"|(?<![\dA-Za-z])(?P<ed>\d{1,2})(?:st|nd|rd|th)?\.?[ \t]+(?:of[ \t]+)?(?P<em>" + _MONTH_RX + r")\b\.?,?[ \t]+(?P<ey>(?:19|20)\d\d)(?!\d)"
    r"|(?<![A-Za-z])(?P<um>" + _MONTH_RX + r")\b\.?[ \t]+(?P<ud>\d{1,2})(?:st|nd|rd|th)?,?[ \t]+(?P<uy>(?:19|20)\d\d)(?!\d)"
    r"|(?<![\d.])(?P<dd>\d{1,2})\.(?P<dm>\d{1,2})\.(?P<dy>(?:19|20)\d\d)(?!\d)"
    r"|(?<![\d/])(?P<sa>\d{1,2})/(?P<sb>\d{1,2})/(?P<sy>(?:19|20)\d\d)(?!\d)",
    re.I,
)

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty-five": 45,
    "sixty": 60, "ninety": 90,
}
_NUM = r"(?P<num>\d{1,3})|(?P<word>" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")(?:[ \t]*\((?P<num2>\d{1,3})\))?"
_DEADLINE_EN = re.compile(
    r"\b(?:within|in|you have|up to|no later than)[ \t]+(?:the[ \t]+next[ \t]+)?(?:" + _NUM + r")[ \t]+"
    r"(?:calendar[ \t]+|business[ \t]+|working[ \t]+)?days?\b"
    r"|\b(?:" + _NUM.replace("?P<num>", "?P<num3>").replace("?P<word>", "?P<word3>").replace("?P<num2>", "?P<num4>") + r")"
    r"[ \t]+(?:calendar[ \t]+|business[ \t]+)?days?[ \t]+(?:from|after)[ \t]+(?:the[ \t]+date[ \t]+of[ \t]+)?(?:this|the|receiving|receipt)",
    re.I,
)
_DEADLINE_ZH = re.compile(r"(?P<num>\d{1,3})[ \t]*(?:个)?[ \t]*(?:自然日|工作日|天|日)[ \t]*(?:之)?内")

_METRIC_VALUE = re.compile(
    r"(?P<paren>[ \t]*\([^()\n]{0,40}\))?(?P<fill>[^%\n]{0,80}?)(?<![\d.,])(?P<num>\d{1,3}(?:[.,]\d{1,3})?)[ \t]*(?:%|percent\b|per cent\b)",
    re.I,
)
# What may stand between a metric's name and its value. Words that state a target or a rule reject it
# anywhere ("must maintain an ODR under 1%"); a comparison only right before the number, so that
# "Late Shipment Rate over the last 30 days: 5%" still reads 5%.
_FILL_REJECT = re.compile(
    r"target|goal|threshold|must|should|maintain|keep|remain|limit|[.;!?](?:\s|$)|[。；！？]|"
    r"claim|feedback|chargeback|negative|a-to-z|guarantee|索赔|反馈|拒付|差评|"  # ODR sub-rates are not the ODR
    r"保持|维持|目标|要求|以下|以上|"
    r"(?:under|below|above|over|less|more|than|exceeds?|exceeding|least|most|maximum|minimum|"
    r"低于|高于|小于|大于|不超过|不低于|超过)(?:[ \t]+(?:the|of|a|an))*[ \t]*$",
    re.I,
)
_UNDER = r"under|below|less than|lower than|no more than|not more than|at most|maximum of|<=?|≤|低于|小于|不超过|不高于|少于"
_ABOVE = r"above|over|greater than|higher than|more than|at least|minimum of|>=?|≥|高于|大于|不低于|至少|超过"
_TARGET = re.compile(
    r"(?:target|goal|threshold|目标|目標)[^\d%\n]{0,40}?(?P<cmp>" + _UNDER + "|" + _ABOVE + r")[ \t]*"
    r"(?P<num>\d{1,3}(?:[.,]\d{1,3})?)[ \t]?(?:%|percent\b|per cent\b)(?:[ \t]*(?P<tail>以下|以内|以上))?"
    r"|(?:target|goal|目标|目標)[ \t]*(?:[:=][ \t]*)?(?P<num2>\d{1,3}(?:[.,]\d{1,3})?)[ \t]?%[ \t]*(?P<tail2>以下|以内|以上)",
    re.I,
)
_UNDER_RX = re.compile("^(?:" + _UNDER + ")$", re.I)


# --- helpers ------------------------------------------------------------------------------------


def _unique(items):
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _fmt(value: float) -> str:
    return f"{value:g}"


def _prepare(text: str) -> str:
    """Plain text to read: markup blanked, NFKC-normalised (full-width colons, digits, %), quote marks gone."""
    plain = plain_view(text)
    plain = unicodedata.normalize("NFKC", plain)
    return _QUOTE_MARKS.sub("", plain)


def _language(text: str) -> str:
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    return "zh" if cjk >= 10 and cjk >= latin else "en"


# --- identifiers --------------------------------------------------------------------------------


def _labeled_list(text: str, label: re.Pattern, item: re.Pattern, accept) -> list[tuple[int, str]]:
    """Values listed after a label: "ASINs: X, Y and Z"."""
    found = []
    for m in label.finditer(text):
        pos = m.end()
        for _ in range(50):
            v = item.match(text, pos)
            if not v or not accept(v.group(1)):
                break
            found.append((v.start(1), v.group(1)))
            sep = _LIST_SEP.match(text, v.end())
            if not sep:
                break
            pos = sep.end()
    return found


def _asins(text: str) -> list[str]:
    found = [(m.start(), m.group()) for m in _ASIN_B0.finditer(text)]
    found += _labeled_list(
        text, _ASIN_LABEL, _LIST_ITEM_ASIN, lambda v: any(c.isdigit() for c in v)
    )
    return _unique(v for _, v in sorted(found))


def _complaint_ids(text: str, k: _Knowledge) -> list[str]:
    found = _labeled_list(text, k.complaint_label, _COMPLAINT_VALUE, lambda v: sum(c.isdigit() for c in v) >= 4)
    return _unique(v for _, v in found)


def _rights_ids(text: str, k: _Knowledge) -> list[str]:
    found = []
    for m in k.rights_label.finditer(text):
        v = _RIGHTS_VALUE.match(text, m.end())
        if not v:
            continue
        value = v.group(1).rstrip(",./- \t")
        if sum(c.isdigit() for c in value) >= 5:
            found.append(value)
    return _unique(found)


def _dates(text: str) -> list[str]:
    out = []
    for m in _DATE.finditer(text):
        g = m.groupdict()
        try:
            if g["iy"]:
                y, mo, d = int(g["iy"]), int(g["im"]), int(g["id"])
            elif g["cy"]:
                y, mo, d = int(g["cy"]), int(g["cm"]), int(g["cd"])
            elif g["ey"]:
                y, mo, d = int(g["ey"]), _MONTHS[g["em"].lower()], int(g["ed"])
            elif g["uy"]:
                y, mo, d = int(g["uy"]), _MONTHS[g["um"].lower()], int(g["ud"])
            elif g["dy"]:
                y, mo, d = int(g["dy"]), int(g["dm"]), int(g["dd"])
            else:
                a, b, y = int(g["sa"]), int(g["sb"]), int(g["sy"])
                mo, d = (b, a) if a > 12 else (a, b)  # US month/day unless the first part cannot be a month
            out.append(_dt.date(y, mo, d).isoformat())
        except (ValueError, KeyError):
            continue
    return _unique(out)


# --- metrics ------------------------------------------------------------------------------------


def _direction(word: str) -> str:
    return "under" if _UNDER_RX.match(word.strip()) else "above"


def _target_after(text: str, start: int, k: _Knowledge) -> str:
    window = text[start : start + 200]
    nxt = k.metric_any.search(window)
    if nxt:
        window = window[: nxt.start()]
    t = _TARGET.search(window)
    if not t:
        return ""
    if t.group("num2"):
        direction = "above" if t.group("tail2") == "以上" else "under"
        return f"{direction} {_fmt(_number(t.group('num2')))}%"
    direction = _direction(t.group("cmp"))
    if t.group("tail"):
        direction = "above" if t.group("tail") == "以上" else "under"
    return f"{direction} {_fmt(_number(t.group('num')))}%"


def _metrics(text: str, k: _Knowledge) -> list[Metric]:
    out: dict[str, Metric] = {}
    for m in k.metric_any.finditer(text):
        name = m.lastgroup
        if name in out:
            continue
        v = _METRIC_VALUE.match(text, m.end())
        if not v or _FILL_REJECT.search(v.group("fill")) or k.metric_any.search(v.group("fill")):
            continue
        value = _number(v.group("num"))
        if value > 100:
            continue
        out[name] = Metric(name=name, value=value, target=_target_after(text, v.end(), k))
    return list(out.values())


def _misses_target(metric: Metric, k: _Knowledge) -> bool:
    target = metric.target or k.metric_defaults.get(metric.name, "")
    m = re.match(r"(under|above) ([\d.]+)%", target)
    if not m:
        return False
    limit = float(m.group(2))
    return metric.value >= limit if m.group(1) == "under" else metric.value < limit


# --- marketplace, deadline, documents, policies --------------------------------------------------


def _marketplace(text: str, k: _Knowledge) -> str:
    plain, hosts = [], []
    for m in k.market_domain.finditer(text):
        pre = m.group("pre")
        domain = m.group("domain").lower()
        if pre == "@":
            continue  # an e-mail address
        if pre in (".", "-") or pre.isalnum() or pre == "_":
            # a host such as sellercentral.amazon.co.uk, unless part of an e-mail address
            line_start = text.rfind("\n", 0, m.start()) + 1
            token = text[max(line_start, m.start() - 60) : m.start()].split()
            if token and "@" in token[-1]:
                continue
            hosts.append((m.start(), domain))
            continue
        plain.append((m.start(), domain))
    low = lowered(text)
    for domain, rx in k.market_names:
        m = rx.search(low)
        if m:
            plain.append((m.start(), domain))
    labeled = re.search(r"(?:marketplace|商城|站点|市场)[ \t]*:[ \t]*", text, re.I)
    if labeled:
        for pos, domain in sorted(plain):
            if labeled.end() <= pos <= labeled.end() + 5:
                return domain
    if plain:
        return min(plain)[1]
    return min(hosts)[1] if hosts else ""


def _deadline(text: str, k: _Knowledge) -> int | None:
    found = []
    for m in _DEADLINE_EN.finditer(text):
        before = text[max(0, m.start() - 30) : m.start()]
        if k.lookback_before.search(before):
            continue
        g = m.groupdict()
        raw = g["num"] or g["num2"] or g["num3"] or g["num4"]
        word = g["word"] or g["word3"]
        days = int(raw) if raw else _NUMBER_WORDS.get((word or "").lower())
        if days:
            found.append((m.start(), days))
    for m in _DEADLINE_ZH.finditer(text):
        before = text[max(0, m.start() - 6) : m.start()]
        if k.lookback_before.search(before) or k.lookback_after_zh.match(text, m.end()):
            continue
        found.append((m.start(), int(m.group("num"))))
    return min(found)[1] if found else None


def _first_hits(text: str, table: list) -> list[str]:
    hits = []
    for key, rx in table:
        m = rx.search(text)
        if m:
            hits.append((m.start(), key))
    return _unique(key for _, key in sorted(hits))


# --- classification -----------------------------------------------------------------------------


def _reason_text(text: str) -> str:
    return "\n".join(s.group() for s in _SENTENCE.finditer(text) if _REASON.search(s.group()))


def _raw_scores(low: str, metrics: list[Metric], k: _Knowledge) -> dict[str, float]:
    c = k.classifier
    reason = _reason_text(low)
    scores: dict[str, float] = {}
    for vid, rules in k.violations.items():
        total = 0.0
        for weight, rx in rules:
            hits = sum(1 for _ in islice(rx.finditer(low), 1 + int(c["max_repeats"])))
            if not hits:
                continue
            total += weight * (1 + c["repeat_bonus"] * (hits - 1))
            if rx.search(reason):
                total += weight * (c["reason_boost"] - 1)
        scores[vid] = total
    for metric in metrics:
        bonus = c["failing_metric_bonus"] if _misses_target(metric, k) else c["passing_metric_bonus"]
        scores[metric.name] = scores.get(metric.name, 0.0) + bonus
    return scores


def _classify(scores: dict[str, float], k: _Knowledge) -> tuple[str, float, list[Candidate], str]:
    """(violation, confidence, candidates, warning or "")."""
    c = k.classifier
    ranked = sorted(((s, v) for v, s in scores.items() if s > 0), reverse=True)
    if not ranked:
        return "other", 0.3, [], "no wording that names a known violation was found; check the notice by hand"
    total = sum(s for s, _ in ranked)
    half = c["strength_half"]

    def score(raw: float) -> float:
        return round(min(1.0, (raw / (raw + half)) * (raw / total) ** 0.5), 3)

    candidates = [Candidate(violation=v, score=score(s)) for s, v in ranked[: int(c["max_candidates"])]]
    top_raw, top = ranked[0]
    second_raw = ranked[1][0] if len(ranked) > 1 else 0.0
    if top_raw < c["min_score"]:
        conf = round(0.5 * (1 - candidates[0].score), 3)
        return "other", conf, [Candidate(violation="other", score=conf)] + [x for x in candidates if x.violation != "other"], (
            f"little evidence for any violation (best guess {top}); check the notice by hand"
        )
    if top != "other" and second_raw >= c["ambiguous_ratio"] * top_raw:
        conf = round(0.5 * (1 - candidates[0].score), 3)
        return "other", conf, [Candidate(violation="other", score=conf)] + [x for x in candidates if x.violation != "other"], (
            f"the notice reads like both {top} and {ranked[1][1]}; check which one applies"
        )
    return top, candidates[0].score, candidates, ""


# --- entry point --------------------------------------------------------------------------------


def _failed(warning: str, language: str = "en") -> Notice:
    return Notice(violation="other", confidence=0.0, language=language, warnings=[warning])


def parse_notice(text: str) -> Notice:
    """Read one Amazon notice. Never raises on a str; problems go to `warnings`."""
    try:
        return _parse(text)
    except Exception as exc:  # a reader must not take the caller down; say what happened instead
        return _failed(f"the notice could not be read ({type(exc).__name__}: {exc})")


def _parse(text: str) -> Notice:
    if not isinstance(text, str):
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8", errors="replace")
        else:
            return _failed(f"expected the notice as text, got {type(text).__name__}")
    k = _knowledge()
    if not text.strip():
        return _failed("the notice is empty")
    limit = int(k.limits["max_chars"])
    sample = text[:limit]
    bad = len(_BINARY_CHARS.findall(sample))
    if bad > float(k.limits["binary_ratio"]) * len(sample):
        return _failed(f"the text looks binary ({bad} control or undecodable characters), not a notice")
    warnings = []
    too_long = len(text) > limit
    if too_long:
        warnings.append(
            f"the text is {len(text):,} characters, far longer than a notice; only the first {limit:,} were read "
            "and the violation was not classified"
        )
        text = sample
    plain = _prepare(text)
    if not plain.strip():
        return _failed("the notice has no readable text (only markup)")

    metrics = _metrics(plain, k)
    low = lowered(plain)
    scores = _raw_scores(low[: int(k.limits["classify_chars"])], metrics, k)
    violation, confidence, candidates, why = _classify(scores, k)
    if why:
        warnings.append(why)
    if too_long:
        violation, confidence = "other", 0.0

    return Notice(
        violation=violation,
        confidence=max(0.0, min(1.0, confidence)),
        candidates=candidates,
        asins=_asins(plain),
        order_ids=_unique(_ORDER_ID.findall(plain)),
        dates=_dates(plain),
        metrics=metrics,
        marketplace=_marketplace(plain, k),
        deadline_days=_deadline(plain, k),
        requested_documents=_first_hits(low, k.documents),
        policies=_first_hits(low, k.policies),
        complaint_ids=_complaint_ids(plain, k),
        rights_ids=_rights_ids(plain, k),
        language=_language(plain),
        warnings=warnings,
    )
