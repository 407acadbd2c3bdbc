"""The offline critic: every rule in the corpus over one letter, findings as exact spans, and a score."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator

from . import corpus
from . import letter as letter_mod
from . import scoring
from .letter import CJK, Heading, Letter, Sentence
from .models import SECTION_NAMES, Critique, Finding, Sections, SectionSpan, TextStats, severity_rank
from .anchors import lowered, match_starts, may_match
from .rules import Lexicon, Pattern, Rule, lexicon, load_rules, pattern_index, rule_by_id, rules_version

# "The listing will stay closed until Amazon approves it": a hold already in place, not a promise.
_HOLD = re.compile(
    r"\b(will|won\W?t|shall|is not to be|are not to be)\b[^.!?]*\b(until|unless|only (after|once|when))\b"
    r"|\b(will|shall) not be (resold|sold|shipped|sent|listed|relisted|used|returned|restocked|reused)\b"
    r"|\b(none|nothing|no (units?|items?|stock|products?|goods))\b[^.!?;]{0,30}\b(will|shall) be (resold|sold|shipped|sent|listed|relisted|used|returned|restocked|reused)\b"
    # A denial with its pledge: "We have not contacted any reviewer and will not ask anyone to change a review".
    r"|\b(have not|haven\W?t|did not|didn\W?t|never)\b[^.!?;]{0,80}\band (will|shall) not\b",
    re.I,
)
# "confirming he will send a retraction to Amazon": the other party's undertaking, reported as done.
_THEIR_PROMISE = re.compile(
    r"\b(confirm\w*|agree\w*|promis\w*|undertak\w*|undertook)\b (that )?(he|she|they|the (\w+ ){0,2}\w+) (will|would)\b"
    r"|\b(declaration|affidavit|statement|undertaking)s? (that|stating that|in which) (he|she|they)\b[^.!?;]{0,80}?\b(will|would)\b"
    r"|\b(confirmed|agreed|promised|undertook)\b[^.!?;]{0,40}?\bthat\b[^.!?;]{0,40}?\b(will|would)\b"
    # The terms of an agreement already signed: "signed a settlement under which Pellham will not sell ...".
    r"|\b(settlement|agreement|contract|undertaking|consent order)s?\b[^.!?;]{0,20}?\b(under which|by which|whereby)\b[^.!?;]{0,60}?\b(will|shall)\b",
    re.I)
_LETTER_RUN = re.compile(r"[^\W\d_]+")
_OTHER_LETTER = re.compile(r"[^\W\d_\x00-\u024f]")


def _finding(rule: Rule, text: str, start: int, end: int, severity: str | None = None, note: str = "") -> Finding:
    return Finding(
        category=rule.category,
        rule=rule.id,
        severity=severity or rule.severity,
        start=start,
        end=end,
        quote=text[start:end],
        message=rule.message + note,
        suggestion=rule.suggestion,
    )


def _sentence_span(letter: Letter, sentence: Sentence) -> tuple[int, int]:
    """The sentence without its closing full stop, as a reviewer would quote it."""
    end = sentence.end
    while end > sentence.start and letter.plain[end - 1] in ".。;；,，:：":
        end -= 1
    return sentence.start, end


# --- pattern rules ------------------------------------------------------------------------------


def _in_sections(rule: Rule, letter: Letter, sentence: Sentence | None) -> bool:
    """Whether a sentence stands in one of the rule's sections ("unsectioned": a letter without any)."""
    if sentence is None:
        return False
    if sentence.section in rule.sections:
        return True
    return "unsectioned" in rule.sections and not _has_named_sections(letter)


def _patterns_to_run(rule: Rule, letter: Letter) -> list[Pattern]:
    """The rule's patterns that can match this letter: all their anchor sets present (looked up once
    per letter for every rule), or no anchors but every run of characters they need."""
    looked_up = letter._memo.get("candidates")
    if looked_up is None:
        index = pattern_index()
        looked_up = letter._memo["candidates"] = index, index.candidates(letter.anchor_hits(True), letter.anchor_hits(False))
    index, candidates = looked_up
    position = index.position(rule)
    if position is None:  # a rule not among the loaded ones
        chosen = [p for p in rule.patterns if may_match(p.anchors, letter.lowered if p.folded else letter.plain)]
    else:
        chosen = [rule.patterns[k] for k in candidates.get(position, ())]
    return [p for p in chosen if p.anchors or all(run in letter.lowered for run in p.runs)]


def _match_starts(letter: Letter, pattern: Pattern) -> list[tuple[int, int]] | None:
    """Where the pattern's matches can start in this letter (None: anywhere), computed once per letter."""
    if pattern.extent is None:
        return None
    key = ("starts", pattern.folded, pattern.anchors, pattern.extent)
    starts = letter._memo.get(key)
    if starts is None:
        longest, reads = pattern.extent
        hits = letter.anchor_hits(pattern.folded)
        starts = letter._memo[key] = match_starts([(pattern.anchors[0], longest)], hits, reads, also=pattern.anchors[1:])
    return starts


def _windows(letter: Letter, pattern: Pattern) -> list[tuple[int, int, bool]]:
    """The spans around the pattern's first anchor set in which it runs, and whether each ends where
    the text or a line does; they depend only on that set, so they are computed once per letter."""
    key = ("windows", pattern.folded, pattern.anchors[0])
    spans = letter._memo.get(key)
    if spans is None:
        plain, size = letter.plain, len(letter.plain)
        present = letter.anchor_hits(pattern.folded)
        spans = letter._memo[key] = [
            (start, end, end == size or plain[end] == "\n")
            for start, end in letter.windows([o for a in pattern.anchors[0] for o in present.get(a, ())])
        ]
    return spans


def _matches(rule: Rule, letter: Letter) -> Iterator[re.Match]:
    """Matches of the rule's patterns in text order; for quoted matches, overlapping ones dropped."""
    found: list[re.Match] = []
    patterns = _patterns_to_run(rule, letter)
    if not patterns:
        return
    for pattern in patterns:
        view = letter.lowered if pattern.folded else letter.plain
        if not pattern.anchors:
            found.extend(pattern.regex.finditer(view))
        elif rule.scope == "match" or (pattern.extent is not None and pattern.extent[1] < letter_mod.WINDOW_RADIUS):
            # A match starts near an anchor and reads less than a window's radius past it, so the
            # window around that anchor never cuts it: searching the whole text finds the same ones.
            found.extend(pattern.finditer(view, _match_starts(letter, pattern), 0, len(view)))
        else:
            # Run the pattern only around its anchors; a match cut off by the window is not a match.
            starts = _match_starts(letter, pattern)
            for start, end, natural_end in _windows(letter, pattern):
                for m in pattern.finditer(view, starts, start, end):
                    if m.end() < end or natural_end:
                        found.append(m)
    found.sort(key=lambda m: (m.start(), -m.end()))
    last_end = -1
    for m in found:
        if rule.scope == "match":
            if m.start() < last_end:
                continue
            last_end = max(last_end, m.end())
        yield m


_LINE_CONTEXT = 200  # characters either side of a match outside any sentence that its rule's exceptions and unless groups read


def _near_line(plain: str, m: re.Match) -> tuple[int, int]:
    """The match's line, cut to `_LINE_CONTEXT` characters either side of it. The newlines are looked
    for only that far, so a match on a 1 MB line costs no more than one on a short line."""
    lo = max(0, m.start() - _LINE_CONTEXT)
    newline = plain.rfind("\n", lo, m.start())
    start = newline + 1 if newline >= 0 else lo
    newline = plain.find("\n", m.start(), m.end() + _LINE_CONTEXT)
    end = newline if newline >= 0 else min(len(plain), m.end() + _LINE_CONTEXT)
    return start, max(m.end(), end)


def _pattern_findings(rule: Rule, letter: Letter, lex: Lexicon) -> Iterator[Finding]:
    seen: set[tuple[int, int]] = set()
    for m in _matches(rule, letter):
        if m.end() == m.start() and rule.scope != "match":
            continue
        sentence = letter.sentence_at(m.start())
        if rule.sections and not _in_sections(rule, letter, sentence):
            continue
        if rule.scope == "match" or sentence is None:
            start, end = m.start(), m.end()
            while end > start and letter.plain[end - 1].isspace():
                end -= 1
            while start < end and letter.plain[start].isspace():
                start += 1  # the plain view's blanks may be markup: quote "Cordialement,", not "div>Cordialement,"
        else:
            start, end = _sentence_span(letter, sentence)
        if (start, end) in seen:
            continue
        seen.add((start, end))
        if sentence is not None:
            ctx_start, ctx_end = sentence.start, sentence.end
        else:  # a heading's line ("2.3 Neither was a carrier problem: ..."): the line near the match
            ctx_start, ctx_end = _near_line(letter.plain, m)
        if rule.excepts(m.group() if rule.scope == "match" else letter.plain[ctx_start:ctx_end]):
            continue
        if any(letter.has(lex, group, ctx_start, ctx_end) for group in rule.unless):
            continue
        if "ownership" in rule.unless and sentence is not None and _owned_next(letter, lex, sentence):
            continue
        yield _finding(rule, letter.text, start, end)


_OWN_AHEAD = 2  # sentences after a third-party fact, in the same paragraph, that may own the gap


def _owned_next(letter: Letter, lex: Lexicon, sentence: Sentence) -> bool:
    """Whether a neutral fact about a third party (no fault or judgement in it) is owned by the next
    sentences of the same paragraph: "Our manufacturer changed the fuse. ... We accepted the lot
    without retesting." states a fact, not blame. A fact with a fault in it ("changed the cord to cut
    cost, without telling us") needs the failure owned in so many words in the very next sentence
    ("... so the failure is in our receiving process"): a missing check mentioned after it, or
    responsibility taken further on, does not undo the blame."""
    if letter.has(lex, "fault", sentence.start, sentence.end):
        return _owned_after(letter, lex, sentence, "owned_outright", 1)
    return _owned_after(letter, lex, sentence, "ownership", _OWN_AHEAD)


def _owned_after(letter: Letter, lex: Lexicon, sentence: Sentence, group: str, ahead: int) -> bool:
    """Whether one of the `ahead` sentences after this one, in its paragraph, holds the lexicon group."""
    i = bisect_left(letter._starts or [s.start for s in letter.sentences], sentence.start)
    prev_end = sentence.end
    for s in letter.sentences[i + 1 : i + 1 + ahead]:
        if "\n\n" in letter.plain[prev_end : s.start] or s.section != sentence.section:
            break  # a new paragraph or section
        if letter.has(lex, group, s.start, s.end):
            return True
        prev_end = s.end
    return False


# --- checks: where data alone is not enough ---------------------------------------------------------


def _has_named_sections(letter: Letter) -> bool:
    return any(h.sections[0] in SECTION_NAMES or len(h.sections) > 1
               for h in letter.headings)


def _corrective_scope(letter: Letter) -> Callable[[Sentence], bool]:
    """Which sentences report corrective actions: the corrective section, or all text when unsectioned."""
    if any(s.name == "corrective_actions" for s in letter.sections):
        # A claim of something done needs its proof wherever it stands, except in the root cause.
        return lambda s: s.section in ("corrective_actions", "combined", "preventive_measures")
    if not _has_named_sections(letter):
        return lambda s: s.section is None
    return lambda s: False


def _search(letter: Letter, lex: Lexicon, group: str, s: Sentence) -> re.Match | None:
    """The first match of a lexicon group in a sentence, remembered per letter (several checks ask)."""
    key = ("search", group, s.start, s.end)
    if key not in letter._memo:
        letter._memo[key] = lex.search(group, letter.scanned(lex, s.start, s.end))
    return letter._memo[key]


# E-mail furniture around a letter pasted from a mail client: the header lines, and the signature
# from its delimiter ("--") or a device line ("Sent from my iPhone") on. Not part of the letter.
_MAIL_HEADER = re.compile(r"^[ \t]*(from|to|cc|bcc|subject|date|sent|reply-to)[ \t]*:.*$", re.I | re.M)
_SIGNATURE = re.compile(
    r"^[ \t]*(--|__+|get outlook for \w+|sent (from|with|via) (my )?(iphone|ipad|android|samsung|galaxy|huawei|xiaomi|mobile|"
    r"phone|outlook|mail|gmail|yahoo|proton\w*|blackberry)\b[\w ]{0,30})[ \t]*$", re.I | re.M)


def _outside_letter(letter: Letter) -> Callable[[Sentence], bool]:
    """Whether a sentence is mail furniture rather than the letter's text."""
    if "mail" not in letter._memo:
        # A rule line with a part of the letter headed below it opens the letter, not a signature:
        # "Please copy everything below the line into the appeal box." over "____" and the letter.
        last_part = max((h.start for h in letter.headings
                         if not h.inferred and any(name in SECTION_NAMES for name in h.sections)), default=-1)
        signature = next((m for m in _SIGNATURE.finditer(letter.plain) if m.start() > last_part), None)
        headers = [(m.start(), m.end()) for m in _MAIL_HEADER.finditer(letter.plain)]
        letter._memo["mail"] = (signature.start() if signature else len(letter.plain) + 1, headers)
    signature_start, headers = letter._memo["mail"]
    return lambda s: s.start >= signature_start or any(a <= s.start < b for a, b in headers)


def check_unverified_action(rule: Rule, letter: Letter, lex: Lexicon) -> Iterator[Finding]:
    in_scope = _corrective_scope(letter)
    outside = _outside_letter(letter)
    for sentence in letter.sentences:
        if not in_scope(sentence) or outside(sentence):
            continue
        done = _search(letter, lex, "done", sentence)
        if done is None:
            continue
        body = letter.plain[sentence.start : sentence.end]
        if letter_mod.word_count(body) < 3:  # "Signed" under a letter is not a claim
            continue
        promise = _search(letter, lex, "future", sentence)
        if promise is not None and promise.start() < done.start():
            continue  # "we will make sure all items have been checked": a promise, not a report
        if rule.excepts(body):
            continue
        if _verifiable(lex, body):
            continue
        yield _finding(rule, letter.text, *_sentence_span(letter, sentence))


# "We have sent the invoices to Amazon": documents said to have gone to Amazon, neither attached nor
# identified, are a claim the reviewer cannot check, not evidence.
_SENT_TO_AMAZON = re.compile(
    r"\b(sent|provided|submitted|gave|given|uploaded|forwarded|e-?mailed)\b[^.!?]{0,40}\b(to )?(the )?(amazon|you|your team|seller performance)\b"
    r"|\b(sent|provided|submitted|gave|forwarded|e-?mailed) (amazon|you)\b",
    re.I,
)
_ATTACHED = re.compile(r"\b(attach\w*|enclos\w*|annex\w*|exhibit|appendix)\b", re.I)


def _verifiable(lex: Lexicon, body: str) -> bool:
    """Whether a sentence carries evidence; a document only counts when it is attached, or is not
    merely said to have been sent to Amazon."""
    if not _SENT_TO_AMAZON.search(body) or _ATTACHED.search(body):
        return lex.has("evidence", body)
    return any(lex.has(group, body) for group in lex.groups["evidence"] if group != "document")


def _reports_and_promises(letter: Letter, lex: Lexicon, sentences: list[Sentence]):
    """Split sentences into actions reported as done and promises (holds excluded)."""
    promises, reports = [], []
    for s in sentences:
        body = letter.plain[s.start : s.end]
        done, promise = _search(letter, lex, "done", s), _search(letter, lex, "future", s)
        if promise is None and done is None:
            promise = _search(letter, lex, "imperative", s)
        if promise is not None and (done is None or promise.start() < done.start()):
            if not _HOLD.search(body) and not _THEIR_PROMISE.search(body):
                promises.append((s, body))
        elif done is not None:
            reports.append(s)
    return reports, promises


def check_future_promise(rule: Rule, letter: Letter, lex: Lexicon) -> Iterator[Finding]:
    if not _has_named_sections(letter):
        # A letter without headings that reports nothing done: its promises stand in for corrective actions.
        reports, promises = _reports_and_promises(letter, lex, letter.sentences)
        if not reports:
            for s, body in promises:
                if letter.has(lex, "commitment", s.start, s.end) and letter.has(lex, "remedy", s.start, s.end):
                    yield _finding(rule, letter.text, *_sentence_span(letter, s))
        return
    for sentences in _sentences_under(letter, "corrective_actions"):
        reports, promises = _reports_and_promises(letter, lex, sentences)
        for s, body in promises:
            if not reports:
                yield _finding(rule, letter.text, *_sentence_span(letter, s))
            elif not letter.has(lex, "concrete", s.start, s.end):
                yield _finding(rule, letter.text, *_sentence_span(letter, s), severity=rule.params.get("mixed_severity"))
    if any(section.name == "corrective_actions" for section in letter.sections):
        return
    # Headings but no corrective part: a fix promised under the plan's heading ("What we will do: We
    # will refund ...") stands in for it, as in a letter without headings; the sentence opens with the
    # promise, as a plan's items do.
    for sentences in _sentences_under(letter, "preventive_measures"):
        reports, promises = _reports_and_promises(letter, lex, sentences)
        if not reports:
            for s, body in promises:
                if letter.has(lex, "opening_promise", s.start, s.end) and letter.has(lex, "remedy", s.start, s.end):
                    yield _finding(rule, letter.text, *_sentence_span(letter, s))


def _sentences_under(letter: Letter, name: str) -> Iterator[list[Sentence]]:
    """The sentences under each heading that names this part alone (not "Corrective and preventive actions")."""
    for section in letter.sections:
        if section.name == name and len(section.heading.sections) <= 1:
            yield [s for s in letter.sentences if section.body_start <= s.start < section.body_end]


def check_unmeasured_promise(rule: Rule, letter: Letter, lex: Lexicon) -> Iterator[Finding]:
    for sentence in letter.sentences:
        if not _in_sections(rule, letter, sentence):
            continue
        body = letter.plain[sentence.start : sentence.end]
        promised = letter.has(lex, "commitment", sentence.start, sentence.end) or letter.has(
            lex, "bare_instruction", sentence.start, sentence.end)
        if promised and not letter.has(lex, "concrete", sentence.start, sentence.end) and not _HOLD.search(body) \
                and not rule.excepts(body):
            yield _finding(rule, letter.text, *_sentence_span(letter, sentence))


_CONSEQUENCE = re.compile(r",?\s+so (?:that )?(?=(?:we|i|our|my|the|they|he|she|any|some)\b)", re.I)
_CLAUSE_END = re.compile(r"[;；]")
_AGENT_WINDOW = 120  # characters after the third party in which its fault must stand
_LINK_WINDOW = 60  # characters before the third party in which a causal link or a passive fault stands


# The seller as the subject of the clause a third party stands in ("we approved our 3PL's switch ..."):
# a "we" or "I" that is not only thinking or hearing, with no clause break between it and the party.
_SELLER_SUBJECT = re.compile(
    r"\b(we|i|our (company|team|store|shop|business)( at that time| then)?)\b(?!\s+(think|thought|believe|believed|guess|feel|felt|suppose|suspect|heard|hear|know|knew|"
    r"found|find|noticed|realized|realised|see|saw|were told|was told|are|were|am|was)\b)", re.I)
_CLAUSE_BREAK = re.compile(r"[,;:()]|\b(because|but|while|since|as|so|then|when|after|that|which|who|where|"
                           r"although|though|however|until|if)\b|\band\s+(the\s+|our\s+|their\s+)?\S*\s*$", re.I)


# Breaks between the seller's clause and a relative clause on its object ("we entered X as Other
# with a number that ..."): punctuation and subordinators, but not "as", "that" or "and".
_SUBORDINATE_BREAK = re.compile(r"[,;:()]|\b(because|but|while|since|so|then|when|after|although|though|however|until|if)\b", re.I)


def _in_seller_clause(before: str, breaks: re.Pattern = _CLAUSE_BREAK) -> bool:
    """Whether the text before a third party puts it in a clause whose subject is the seller."""
    subject = None
    for subject in _SELLER_SUBJECT.finditer(before):
        pass
    return subject is not None and not breaks.search(before, subject.end())


# "... we entered a PRO number that Amazon could not scan": a third party's inability, in a relative
# clause on an object of the seller's own clause, is a property of what the seller did, not blame.
_RELATIVE = re.compile(r"\b(that|which)\s+(the\s+)?$", re.I)
_INABILITY = re.compile(r"^(could not|couldn\W?t|cannot|can\W?t|can not|(was|were|is|are) (not able|unable) to)\b", re.I)


def _inability_on_sellers_object(before: str, fault: str) -> bool:
    relative = _RELATIVE.search(before)
    return (relative is not None and bool(_INABILITY.match(fault))
            and _in_seller_clause(before[: relative.start()], _SUBORDINATE_BREAK))


def check_third_party_fault(rule: Rule, letter: Letter, lex: Lexicon) -> Iterator[Finding]:
    """A sentence whose agent is a third party (buyer, carrier, supplier, Amazon, competitor, a new
    employee, an agency...) followed by a fault, a negative verb or a judgement of it, with no
    ownership by the seller in the sentence. Corrective and preventive sentences are left to the
    phrase rules: there a third party is usually the object of the seller's action."""
    skip = set(rule.params.get("skip_sections", ()))
    # One pass over the letter for the agents, then only their sentences are read closely.
    agents: dict[Sentence, list[int]] = {}
    for m in lex.finditer("third_party", letter.plain, letter.lowered, letter.anchor_hits(True), letter.anchor_hits(False)):
        sentence = letter.sentence_at(m.start())
        if sentence is not None and sentence.section not in skip and m.end() <= sentence.end:
            agents.setdefault(sentence, []).append((m.start(), m.end()))
    for sentence in sorted(agents, key=lambda s: s.start):
        # Ownership in a consequence after a third party ("the manufacturer printed it small, so our
        # warehouse did not see it") presents the seller's failure as theirs: only what comes before counts.
        consequence = _CONSEQUENCE.search(letter.plain, sentence.start, sentence.end)
        owned_end = sentence.end
        if consequence is not None and min(a for a, _ in agents[sentence]) < consequence.start():
            owned_end = consequence.start()
        if letter.has(lex, "ownership", sentence.start, owned_end):
            continue
        if owned_end < sentence.end and letter.has(lex, "owned_outright", owned_end, sentence.end):
            continue  # "... so the system can not know the expiry date, this is our side omission"
        if _owned_after(letter, lex, sentence, "owned_outright", 1):
            continue  # "... switched the adapter model without notice. Our own process allowed this: ..."
        body = letter.plain[sentence.start : sentence.end]
        if rule.excepts(body):
            continue
        for start, end in sorted(set(agents[sentence])):
            # The third party made the cause ("due to the courier", "resealed by the liquidator")...
            before = letter.plain[max(sentence.start, start - _LINK_WINDOW) : start]
            if (lex.has("blame_link", before) and not lex.has("enforcement", before)) or lex.has("blame_cause", before):
                yield _finding(rule, letter.text, *_sentence_span(letter, sentence))
                break
            if lex.has("acted_on", before):
                continue  # the object of the seller's action ("we refunded all 19 buyers"), not an agent
            if _in_seller_clause(letter.plain[sentence.start : start]):
                continue  # "we copied the claims from the factory's catalog without checking them"
            # ... or the agent of a fault that follows it.
            # The fault stands in the agent's own clause: a semicolon starts another ("I am sorry for
            # the experience these parents had; below is what caused it").
            stop = min(sentence.end, end + _AGENT_WINDOW)
            clause_end = _CLAUSE_END.search(letter.plain, end, stop)
            m = lex.search("fault", letter.scanned(lex, end, clause_end.start() if clause_end else stop))
            if m is not None and lex.search("seller_subject", letter.scanned(lex, end, end + m.start())) is None:
                if _inability_on_sellers_object(letter.plain[sentence.start : start], m.group()):
                    continue
                yield _finding(rule, letter.text, *_sentence_span(letter, sentence))
                break


def check_wider_admission(rule: Rule, letter: Letter, lex: Lexicon) -> Iterator[Finding]:
    """A confession added to the case ("also", "to be honest") that reaches beyond the notice:
    other products or another time together with a breach ("my other photos were also downloaded"),
    a breach on its face ("also ... never paid a licence"), or relatives' and extra accounts.
    In the corrective and preventive parts only the accounts count: there "other listings without
    invoices" is usually the clean-up being reported."""
    actions = set(rule.params.get("action_sections", ()))
    # One pass over the letter for the markers; only their sentences are read closely.
    marked: set[Sentence] = set()
    for rx, folded in lex.classes["admission_marker"]:
        for m in rx.finditer(letter.lowered if folded else letter.plain):
            sentence = letter.sentence_at(m.start())
            if sentence is not None:
                marked.add(sentence)
    for sentence in sorted(marked, key=lambda s: s.start):
        in_actions = sentence.section in actions
        wider = (
            not in_actions
            and (
                (_search(letter, lex, "misconduct", sentence) is not None and _search(letter, lex, "wider_scope", sentence) is not None)
                or _search(letter, lex, "missing_permission", sentence) is not None
            )
        ) or _search(letter, lex, "related_party", sentence) is not None
        if not wider:
            continue
        body = letter.plain[sentence.start : sentence.end]
        if rule.excepts(body):
            continue
        yield _finding(rule, letter.text, *_sentence_span(letter, sentence))


def infer_sections(letter: Letter, lex: Lexicon) -> dict[str, bool] | None:
    """For a letter without headings, which of the three parts its sentences supply, by content.
    A letter whose only section marks are paragraph cues ("Going forward, ...") is judged by content
    too, the cued sections counting as present."""
    if any(
        not h.inferred and (h.sections[0] in SECTION_NAMES or len(h.sections) > 1)
        for h in letter.headings
    ):
        return None
    present = {"root_cause": False, "corrective_actions": False, "preventive_measures": False}
    for section in letter.sections:
        if section.has_content(letter.plain):
            present[section.name] = True
    reports, promises = _reports_and_promises(letter, lex, letter.sentences)
    # With nothing reported as done, the promises are the corrective part (future_only reports them).
    present["corrective_actions"] = bool(reports) or any(letter.has(lex, "remedy", s.start, s.end) for s, _ in promises)
    reported = {s.start for s in reports}
    for s in letter.sentences:
        if letter.has(lex, "cause", s.start, s.end) and (s.start not in reported or letter.has(lex, "ownership", s.start, s.end)):
            present["root_cause"] = True
    promised = {s.start for s, _ in promises}
    for s in letter.sentences:
        if (s.start in promised and reports) or letter.has(lex, "preventive_cue", s.start, s.end):
            present["preventive_measures"] = True
    return present


def _cause_before_headings(letter: Letter, lex: Lexicon) -> bool:
    """Whether the text before the first Root Cause / Corrective / Preventive heading gives a cause
    ("We did not have a rule about which devices may log in. This is the cause of the link."): many
    letters explain the cause in the opening paragraph, under mail headers or a question the headings
    do not name, and head only the actions. A cause put on others counts as given (the blame rules
    report it where it stands); Amazon's action restated from the notice ("deactivated because it is
    related to another account") does not, unless the seller owns it."""
    for s in letter.sentences:
        if s.section not in (None, "other"):
            break
        body = letter.plain[s.start : s.end]
        if lex.has("cause", body) and (lex.has("ownership", body) or not lex.has("enforcement", body)):
            return True
    return False


def _at_heading(rule: Rule, letter: Letter, heading: Heading, note: str) -> Finding:
    """A missing-section finding quoting the heading that stands over no content."""
    end = heading.end
    while end > heading.start and letter.plain[end - 1].isspace():
        end -= 1
    return _finding(rule, letter.text, heading.start, end, note=note)


def check_missing_section(rule: Rule, letter: Letter, lex: Lexicon) -> Iterator[Finding]:
    name = rule.params["section"]
    if letter.inferred is not None:
        if not letter.inferred[name]:
            yield _finding(rule, letter.text, 0, 0, note=" (The letter has no headings, and no sentence supplies this part.)")
        return
    matching = [s for s in letter.sections if s.name == name]
    if any(s.has_content(letter.plain) for s in matching):
        return
    if not matching and name == "root_cause" and _cause_before_headings(letter, lex):
        return
    if matching:
        yield _at_heading(rule, letter, matching[0].heading, " The heading is there, but nothing is written under it.")
    else:
        yield _finding(rule, letter.text, 0, 0)


def _not_content() -> tuple[frozenset[str], frozenset[str]]:
    """The categories and the rules whose findings are no section's content (sections.toml [hollow])."""
    spec = corpus.load("sections.toml").get("hollow", {})
    return frozenset(spec.get("categories", ())), frozenset(spec.get("rules", ()))


def _hollow_findings(letter: Letter, findings: list[Finding]) -> list[Finding]:
    """Missing-section findings for headings whose every written line is reported as no content
    (sections.toml [hollow]; at least half of each sentence): read after the other rules, from their
    findings."""
    if letter.inferred is not None:
        return []
    # The learned model's over-admission guesses do not count: a candid, owned cause reads to it like
    # a confession (a drafted root cause did), and a guess must not cost a whole section.
    learned = {r.id for r in load_rules() if r.defer_to}
    categories, rules = _not_content()
    spans = _Spans((f.start, f.end) for f in findings if (f.category in categories or f.rule in rules)
                   and f.end > f.start and (f.rule not in learned or f.category == "emotional_appeal"))
    if not spans.starts:
        return []
    found = []
    for rule in _section_rules():
        name = rule.params["section"]
        matching = [s for s in letter.sections if s.name == name and s.has_content(letter.plain)]
        if not matching:
            continue  # reported by the rule itself, or no heading of this part
        lines = [_sentence_span(letter, sent) for s in matching for sent in letter.content_sentences(s)]
        if not lines or any(spans.covered(a, b) * 2 < b - a for a, b in lines):
            continue
        found.append(_at_heading(rule, letter, matching[0].heading,
                                 " The heading is there, but only a plea, an admission beyond the notice, template text or the notice given back as its own cause is written under it."))
    return found


def _blamed_cause_given(letter: Letter, findings: list[Finding]) -> list[Finding]:
    """A letter that answers "why" by putting it on a buyer, carrier, supplier, employee or system,
    before any heading or without headings, has a root cause, a wrong one: the blame findings of the
    rules named in the root-cause rule's `given_by` report it where it stands, so it is not also
    reported as missing ("The courier damaged them, not us." under no heading). Disputing the
    notice (Amazon erred, a competitor complained) gives no cause and does not count."""
    given_by = {rule.id: frozenset(rule.params.get("given_by", ())) for rule in _section_rules()}
    missing = {f.rule for f in findings if given_by.get(f.rule) and f.start == f.end == 0}
    if not missing:
        return findings
    opening = {s.start for s in letter.sentences if s.section in (None, "other")}
    answered = set()
    for f in findings:
        if f.end > f.start:
            sentence = letter.sentence_at(f.start)
            if sentence is not None and sentence.start in opening:
                answered.update(rule for rule in missing if f.rule in given_by[rule])
    return [f for f in findings if not (f.rule in answered and f.start == f.end == 0)]


def _section_rules() -> list[Rule]:
    return [rule for rule in load_rules() if rule.kind == "check" and rule.check == "missing_section"]


def _rules_named(ids: Iterable[str]) -> list[Rule]:
    """The loaded rules with these ids (a rule's params may name others); an unknown id is an error in the data."""
    found = [(i, rule_by_id(i)) for i in ids]
    unknown = [i for i, rule in found if rule is None]
    if unknown:
        raise ValueError(f"no rule with id {unknown}")
    return [rule for _, rule in found]


def _letter_words(letter: Letter) -> int:
    """Words in the whole letter, counted once per letter."""
    words = letter._memo.get("words")
    if words is None:
        words = letter._memo["words"] = letter_mod.word_count(letter.plain)
    return words


def check_markup_pattern(rule: Rule, letter: Letter, lex: Lexicon) -> Iterator[Finding]:
    """The rule's patterns over the text as pasted, markup included: what the plain view blanks
    ("<li></li>", an empty item of a pasted HTML list) can still be the fault. Only letters with markup."""
    if letter.plain == letter.text or "<" not in letter.text:
        return
    for pattern in rule.patterns:
        # A case-insensitive pattern is written for the lower-case view (rules.Pattern), offsets kept.
        for m in pattern.regex.finditer(lowered(letter.text) if pattern.folded else letter.text):
            if m.end() > m.start():
                yield _finding(rule, letter.text, m.start(), m.end())


def check_too_short(rule: Rule, letter: Letter, lex: Lexicon) -> Iterator[Finding]:
    words = _letter_words(letter)
    if words < rule.params["min_words"]:
        yield _finding(rule, letter.text, 0, 0, note=f" ({words} words.)")


def check_too_long(rule: Rule, letter: Letter, lex: Lexicon) -> Iterator[Finding]:
    words = _letter_words(letter)
    if words > rule.params["max_words"]:
        yield _finding(rule, letter.text, 0, 0, note=f" ({words} words.)")


def foreign_share(plain: str) -> float:
    """Share of the letter's words not in Latin script (two Chinese characters read as one word)."""
    if plain.isascii() or not (CJK.search(plain) or _OTHER_LETTER.search(plain)):
        return 0.0  # nothing outside Latin script: no need to count the words
    cjk = len(CJK.findall(plain)) / 2
    rest = CJK.sub(" ", plain) if cjk else plain
    runs = _LETTER_RUN.findall(rest)
    # Only letters outside Latin script (Cyrillic, Greek, Arabic...) need each run read.
    other = sum(1 for r in runs if any(ord(c) > 0x24F for c in r)) if _OTHER_LETTER.search(rest) else 0
    total = cjk + len(runs)
    return (cjk + other) / total if total else 0.0


_LATIN_WORD = re.compile(r"[^\W\d_]+")


def _foreign_markers(letter: Letter, lex: Lexicon) -> int:
    """How often the commonest foreign function words stand in the letter: a plain substring search,
    once per letter, before any sentence is read word by word (most letters hold none)."""
    count = letter._memo.get("foreign_markers")
    if count is None:
        spaced = " " + letter.lowered.replace("\n", " ")
        count = letter._memo["foreign_markers"] = sum(spaced.count(w) for w in lex.foreign_markers)
    return count


def foreign_latin_sentences(letter: Letter, lex: Lexicon, min_words: int = 4, min_function: int = 3) -> list[tuple[Sentence, int]]:
    """Sentences written in a Latin-script language other than English (German, Spanish, French...),
    with their word counts: several function words of those languages, few English ones, and not a
    run of capitalised names ("Les Jardins de la Loire")."""
    key = ("foreign_latin", min_words, min_function)
    if key in letter._memo:
        return letter._memo[key]
    found = []
    english, foreign = lex.english_words, lex.foreign_words
    low = letter.lowered
    if not foreign or _foreign_markers(letter, lex) < 2:
        letter._memo[key] = found
        return found
    hits = [m.start() for m in _LATIN_WORD.finditer(low) if m.group() in foreign]
    if len(hits) >= min_function:
        for s in letter.sentences:
            if bisect_left(hits, s.end) - bisect_left(hits, s.start) < min_function:
                continue  # too few foreign function words for the full count
            words = _LATIN_WORD.findall(letter.plain, s.start, s.end)
            if len(words) < min_words:
                continue
            f = e = caps = 0
            for w in words:
                low = w.lower()
                if low in foreign:
                    f += 1
                elif low in english:
                    e += 1
                if w[0].isupper():
                    caps += 1
            # Three function words of another language; or, with no English one at all, two.
            enough = f >= min_function or (f >= 2 and e == 0)
            if enough and f >= 2 * e + 1 and caps * 2 <= len(words):
                found.append((s, len(words)))
    letter._memo[key] = found
    return found


# A clause inside a sentence: the sentence cut at punctuation and at a dash or slash set off by spaces.
_CLAUSE = re.compile(r"[^,;:()\[\]\n]+?(?=\s[-–—/]\s|[,;:()\[\]\n]|$)")
# Letters of Latin script with a diacritic, which English words rarely carry ("não", "już", "atenção").
_MARKED = re.compile(r"[\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]")


def foreign_latin_clauses(letter: Letter, lex: Lexicon, whole: set[int], min_words: int = 3) -> list[tuple[int, int]]:
    """Clauses in another Latin-script language inside an English sentence, as code-switching sellers
    write them ("We always put the tracking code, a culpa não é nossa."): at least `min_words` words,
    none an English function word, two that are function words of another language or carry a
    diacritic English does not use, and not a run of capitalised names ("Société Générale Paris").
    `whole`: the starts of sentences already reported whole (foreign_latin_sentences), left to it."""
    found: list[tuple[int, int]] = []
    plain = letter.plain
    if _foreign_markers(letter, lex) < 2 and _MARKED.search(plain) is None:
        return found  # no diacritics and hardly any foreign function word: nothing to read closely
    english, foreign = lex.english_words, lex.foreign_words
    for s in letter.sentences:
        if s.start in whole:
            continue
        body = plain[s.start : s.end]
        if _MARKED.search(body) is None and foreign.isdisjoint(_LATIN_WORD.findall(body.lower())):
            continue
        for clause in _CLAUSE.finditer(body):
            words = _LATIN_WORD.findall(clause.group())
            if len(words) < min_words:
                continue
            marked = caps = native = 0
            for w in words:
                low = w.lower()
                native += low in english
                # Codes and acronyms ("NE-2025-1184", "TÜV SÜD") are no words of another language.
                marked += not (len(w) > 1 and w.isupper()) and (low in foreign or _MARKED.search(w) is not None)
                caps += w[0].isupper()
            # One English homograph ("to", Polish for "it") is allowed when three words are foreign.
            if native > marked // 3 or marked < 2 or caps * 2 > len(words):
                continue
            start = s.start + clause.start() + len(clause.group()) - len(clause.group().lstrip())
            end = s.start + clause.end()
            while end > start and plain[end - 1] in " \t.。!?":
                end -= 1
            found.append((start, end))
    return found


_GLOSS_AFTER = re.compile(r"[ \t]*[(（][ \t]*[A-Za-z]")
_GLOSS_BEFORE = re.compile(r"[A-Za-z][A-Za-z0-9.'\- ]{0,40}[ \t]*[(（][ \t]*[0-9./-]*$")
_CLOSE = re.compile(r"[ \t]*[)）]")
_GLOSS_EQUALS = re.compile(r"[ \t]*[=＝][ \t]*[\"'“‘]?[A-Za-z]")
# A Chinese name written beside its pinyin, as signatures give it: "陈宇 Chen Yu", "Wang Fang 王芳";
# a syllable for each character, so that "我们是 Tianyu Home" or "Hi Amazon 团队" is no name.
_SYLLABLE = r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?[aeiouv]+(?:ng|n|r)?"
_PINYIN = rf"(?=[A-Z])(?i:(?:{_SYLLABLE}){{1,3}})\b"
_PINYIN_AFTER = re.compile(rf"[ \t]+{_PINYIN}(?:[ \t]+{_PINYIN})+")
_PINYIN_BEFORE = re.compile(rf"(?<![A-Za-z]){_PINYIN}(?:[ \t]+{_PINYIN})+[ \t]+$")
_SYLLABLES = re.compile(_SYLLABLE, re.I)
# A name in brackets beside its pinyin written as one word: "our ERP (Mabang 马帮)".
_BRACKETED_PINYIN = re.compile(rf"[(（][ \t]*{_PINYIN}[ \t]+$")
# The same the other way round: "our ERP (店小秘 Dianxiaomi)".
_OPEN = re.compile(r"[(（][ \t]*$")
_PINYIN_CLOSED = re.compile(rf"[ \t]+{_PINYIN}[ \t]*[)）]")
# A longer name glossed in brackets by its pinyin: "东莞明辉电器 (Dongguan Minghui Electric)". A
# heading glossed by its meaning ("问题原因 (Root cause)") does not start with two pinyin words.
_PINYIN_GLOSS = re.compile(rf"[ \t]*[(（][ \t]*{_PINYIN}[ \t]+{_PINYIN}")
_MAX_PINYIN_NAME = 8
# The letter's title in both languages: "Plan of Action / 整改计划", "Plan of Action – Late Shipment
# Rate 迟发率", "申诉书 (Appeal)".
_TITLE_LINE = re.compile(r"[ \t*#]*(plan of action|action plan|poa|appeal)\b[^\n]*$", re.I)
_MAX_TITLE = 160  # characters of a title line before its Chinese
_TITLE_AFTER = re.compile(r"[ \t]*[/|｜(（][ \t]*(plan of action|action plan|poa|appeal)\b", re.I)
_COMPANY_SUFFIXES = ("公司", "商行", "工厂", "厂")
# A signature line giving a name in both scripts: "Bamboo Craft Home 竹艺家居".
_SIGNED_NAME = re.compile(r"(?:[A-Z][\w&'.,-]*[ \t]+){2,}$")


def _glossed(plain: str, start: int, end: int) -> bool:
    """Whether a name-length run of Chinese (up to three characters) stands beside its English in
    brackets ("王芳 (Wang Fang)", "Li Ming (李明)", "店小秘 (Dianxiaomi ERP)"), or a name of two or
    three characters beside its pinyin ("陈宇 Chen Yu, Account Manager"): a name the reviewer reads in
    the gloss. Up to eight characters may stand in brackets after their English ("Ningbo Oubei Home
    Store (宁波欧贝家居)", "A new SOP (操作流程)") or before their pinyin ("东莞明辉电器 (Dongguan Minghui
    Electric)"), given its meaning ("抗菌 = antibacterial"), or on the letter's title line ("Plan of
    Action / 整改计划"). A longer run with a gloss ("问题原因 (Root cause)") is still untranslated text,
    unless title marks make it the name of a document: "《退货检验规程》 (Returns Inspection Procedure)"."""
    titled = start > 0 and plain[start - 1] == "《" and plain[end - 1] == "》"
    if end - start <= 20 and plain[start:end].endswith(_COMPANY_SUFFIXES) and _GLOSS_AFTER.match(plain, end):
        return True  # a company glossed by its English name: "深圳市博远电子有限公司 (Shenzhen BoYuan Electronics Co., Ltd.)"
    name_length = end - start <= _MAX_PINYIN_NAME
    if name_length and (_on_title_line(plain, start) or _TITLE_AFTER.match(plain, end)
                        or _PINYIN_GLOSS.match(plain, end) or _GLOSS_EQUALS.match(plain, end)):
        return True
    if (name_length or titled) and _GLOSS_BEFORE.search(plain, max(0, start - 48), start) and _CLOSE.match(plain, end):
        return True
    if end - start > 3 and not titled:
        return False
    if _GLOSS_AFTER.match(plain, end):
        return True
    if end - start >= 2:
        name = (_PINYIN_AFTER.match(plain, end) or _PINYIN_BEFORE.search(plain, max(0, start - 40), start)
                or (_CLOSE.match(plain, end) and _BRACKETED_PINYIN.search(plain, max(0, start - 40), start))
                or (_OPEN.search(plain, max(0, start - 4), start) and _PINYIN_CLOSED.match(plain, end)))
        if name and len(_SYLLABLES.findall(name.group())) == end - start:
            return True
    return False


def _line_start(plain: str, offset: int) -> int:
    """Where the line holding `offset` begins."""
    return plain.rfind("\n", 0, offset) + 1


def _on_title_line(plain: str, start: int) -> bool:
    line_start = _line_start(plain, start)
    return start - line_start <= _MAX_TITLE and _TITLE_LINE.fullmatch(plain, line_start, start) is not None


def _signed_name(letter: Letter, start: int, end: int) -> bool:
    """Whether a short run of Chinese in the sign-off is a name or title the reviewer reads in English:
    glossed after it ("运营经理 (Operations Manager)"), or ending a line after the same name in
    capitalised words ("Bamboo Craft Home 竹艺家居"). A courtesy alone on a line ("谢谢") is still
    Chinese the reviewer must read past; authors differ on it."""
    plain = letter.plain
    if end - start > _MAX_PINYIN_NAME or letter.section_of(start) != "closing":
        return False
    if _GLOSS_AFTER.match(plain, end):
        return True  # a title with its English: "运营经理 (Operations Manager), Suzhou Hemu Foods"
    line_end = plain.find("\n", end)
    rest = plain[end : len(plain) if line_end < 0 else line_end]
    if rest.strip(" \t!！.。,，~"):
        return False
    line_start = _line_start(plain, start)
    return bool(_SIGNED_NAME.fullmatch(plain, line_start, start))


# The line that names the business: "Store: Kaitong Outdoor 凯通户外 | Merchant Token A1W6C9RZ2KQ8T0".
_NAME_LABEL = re.compile(r"[ \t]*(store|shop|company|seller|brand|business)( name)?[ \t]*[:：]", re.I)
_NAME_ENDS = re.compile(r"[ \t]*([|,;/(（]|$)", re.M)
_NAME_AFTER = re.compile(r"[ \t]+[A-Z][\w&'.,-]*(?:[ \t]+[A-Z][\w&'.,-]*)+(?=[ \t]*([|;/(（]|$))", re.M)


def _labelled_name(plain: str, start: int, end: int) -> bool:
    """Whether a short run of Chinese is the business's name in both scripts on the line that names
    it: after the same name in capitalised words and before the line or a field ends, or first and
    followed by it ("Seller: 宁波海畅家居 Ningbo Haichang Home Co., Ltd. (Seller ID ...)")."""
    if end - start > _MAX_PINYIN_NAME:
        return False
    line_start = _line_start(plain, start)
    label = _NAME_LABEL.match(plain, line_start, start)
    if label is None:
        return False
    name_start = label.end()
    while name_start < start and plain[name_start] in " \t":
        name_start += 1
    if name_start == start:
        return _NAME_AFTER.match(plain, end) is not None
    return _NAME_ENDS.match(plain, end) is not None and _SIGNED_NAME.fullmatch(plain, name_start, start) is not None


def check_foreign_passage(rule: Rule, letter: Letter, lex: Lexicon) -> Iterator[Finding]:
    """Text in Chinese, Japanese or Korean left in the letter. Section headings in Chinese over a
    letter otherwise all in English ("根本原因" above English sentences) are a format the reviewer
    reads past; when the body also holds such text, the headings are part of the same untranslated text."""
    inside = _Spans((f.start, f.end) for other in _rules_named(rule.params.get("inside_other", ()))
                    for f in run_rule(other, letter))
    found = [f for f in _pattern_findings(rule, letter, lex)
             if not _glossed(letter.plain, f.start, f.end) and not inside.covers(f.start, f.end)
             and not _signed_name(letter, f.start, f.end) and not _labelled_name(letter.plain, f.start, f.end)]
    # From the line start: a heading's list number ("一、根本原因") is part of what the finding quotes.
    heading_spans = [(_line_start(letter.plain, h.start), h.body_start) for h in letter.headings if not h.inferred]

    def is_heading(f: Finding) -> bool:
        return any(a <= f.start and f.end <= b for a, b in heading_spans)

    if found and not all(is_heading(f) for f in found):
        yield from found


def check_foreign_latin(rule: Rule, letter: Letter, lex: Lexicon) -> Iterator[Finding]:
    sentences = foreign_latin_sentences(letter, lex, rule.params.get("min_words", 4), rule.params.get("min_function_words", 3))
    for s, _ in sentences:
        yield _finding(rule, letter.text, *_sentence_span(letter, s))
    for start, end in foreign_latin_clauses(letter, lex, {s.start for s, _ in sentences}, rule.params.get("min_clause_words", 3)):
        yield _finding(rule, letter.text, start, end)


def check_not_english(rule: Rule, letter: Letter, lex: Lexicon) -> Iterator[Finding]:
    share = foreign_share(letter.plain)
    latin = sum(n for _, n in foreign_latin_sentences(letter, lex))
    if latin:
        total = _letter_words(letter)
        share = min(1.0, share + latin / total) if total else share
    if share > rule.params["max_foreign_share"]:
        yield _finding(rule, letter.text, 0, 0, note=f" (about {share:.0%} of the text.)")


class _Spans:
    """A set of character spans as their sorted union, asked whether a span shares a character with
    it in log time (a 1 MB letter has tens of thousands of findings and sentences)."""

    def __init__(self, spans: Iterable[tuple[int, int]]):
        merged: list[list[int]] = []
        for a, b in sorted(spans):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        self.starts = [a for a, _ in merged]
        self.ends = [b for _, b in merged]

    def touches(self, start: int, end: int) -> bool:
        i = bisect_left(self.starts, end) - 1  # the last span starting before `end`; ends grow with starts
        return i >= 0 and self.ends[i] > start

    def covers(self, start: int, end: int) -> bool:
        """Whether one span holds all of start:end."""
        i = bisect_right(self.starts, start) - 1
        return i >= 0 and self.ends[i] >= end

    def covered(self, start: int, end: int) -> int:
        """How many characters of start:end the spans cover."""
        total = 0
        for i in range(bisect_left(self.ends, start + 1), bisect_left(self.starts, end)):
            total += min(self.ends[i], end) - max(self.starts[i], start)
        return total


def check_learned(rule: Rule, letter: Letter, lex: Lexicon) -> Iterator[Finding]:
    """Sentences the learned classifier (pipeline/classifier.py) puts in this rule's category. The
    model reads each sentence once per letter; every learned rule takes its own category."""
    from .classifier import model

    trained = model()
    if trained is None:
        return
    if "learned" not in letter._memo:
        outside = _outside_letter(letter)
        # What the other rules already report (set by rule_findings): those lines are not read again.
        reported = _Spans((a, b) for c, a, b in letter._memo.get("reported", ()) if c in rule.defer_to)
        labelled = []
        for sentence in letter.sentences:
            if outside(sentence):
                continue
            start, end = _sentence_span(letter, sentence)
            if end <= start or reported.touches(start, end):
                continue
            category, p = trained.classify(letter.plain[sentence.start : sentence.end], sentence.section)
            if category != "none":
                labelled.append((category, start, end, p))
        letter._memo["learned"] = labelled
    wanted = rule.params.get("category", rule.category)
    for category, start, end, p in letter._memo["learned"]:
        if category == wanted and not any(letter.has(lex, group, start, end) for group in rule.unless):
            yield _finding(rule, letter.text, start, end, note=f" (model confidence {p:.0%})")


CHECKS: dict[str, Callable[[Rule, Letter, Lexicon], Iterator[Finding]]] = {
    "learned": check_learned,
    "unverified_action": check_unverified_action,
    "future_promise": check_future_promise,
    "unmeasured_promise": check_unmeasured_promise,
    "third_party_fault": check_third_party_fault,
    "wider_admission": check_wider_admission,
    "missing_section": check_missing_section,
    "markup_pattern": check_markup_pattern,
    "too_short": check_too_short,
    "too_long": check_too_long,
    "not_english": check_not_english,
    "foreign_latin": check_foreign_latin,
    "foreign_passage": check_foreign_passage,
}


# --- the critic ---------------------------------------------------------------------------------------


def _in_order(f: Finding) -> tuple:
    """Findings in text order; on one span, the most severe first."""
    return (f.start, f.end, severity_rank(f.severity), f.category)


def _merge(findings: list[Finding], superseded: set[str]) -> list[Finding]:
    """One finding per category and span, the most severe kept; superseded and yielding findings dropped."""
    best: dict[tuple[str, int, int], Finding] = {}
    for f in findings:
        if f.rule in superseded:
            continue
        # Whole-letter findings share the zero-width span at 0; keep one per rule there.
        key = (f.category, f.start, f.end, f.rule if f.start == f.end else "")
        if key not in best or severity_rank(f.severity) < severity_rank(best[key].severity):
            best[key] = f
    # A deferring finding (the learned classifier's) stands only where no other finding of those
    # categories touches its span: it adds what the rules missed, never a second opinion on a line.
    deferring = {r.id: frozenset(r.defer_to) for r in load_rules() if r.defer_to}
    if deferring:
        others = [f for f in best.values() if f.rule not in deferring and f.end > f.start]
        covered = {cats: _Spans((o.start, o.end) for o in others if o.category in cats)
                   for cats in set(deferring.values())}
        for key, f in list(best.items()):
            cats = deferring.get(f.rule)
            if cats and covered[cats].touches(f.start, f.end):
                del best[key]
    yielding = {r.id: r.yield_to for r in load_rules() if r.yield_to}
    spans: dict[str, list[tuple[int, int]]] = {}
    for f in best.values():
        spans.setdefault(f.category, []).append((f.start, f.end))
    for found in spans.values():
        found.sort()

    def contains_yielded(f: Finding) -> bool:
        for category in yielding.get(f.rule, ()):
            found = spans.get(category, [])
            i = bisect_left(found, (f.start, -1))
            while i < len(found) and found[i][0] <= f.end:
                if found[i][1] <= f.end and found[i] != (f.start, f.end):
                    return True
                i += 1
        return False

    kept = [f for f in best.values() if not contains_yielded(f)]
    return sorted(kept, key=_in_order)


def _section_spans(letter: Letter) -> list[SectionSpan]:
    return [
        SectionSpan(
            name=s.name,
            heading_start=s.heading.start,
            heading_end=s.heading.end,
            body_start=s.body_start,
            body_end=s.body_end,
            inferred=s.heading.inferred,
        )
        for s in letter.sections
    ]


def run_rule(rule: Rule, letter: Letter) -> list[Finding]:
    """One rule's own findings on an analysed letter, before merging with other rules; worked out once
    per letter, since a check may read another rule's findings (foreign-passage reads file-name's)."""
    key = ("findings", rule.id, id(rule))
    found = letter._memo.get(key)
    if found is None:
        if rule.kind == "check":
            found = list(CHECKS[rule.check](rule, letter, lexicon()))
        else:
            found = list(_pattern_findings(rule, letter, lexicon()))
        letter._memo[key] = found
    return found


def analyse(text: str) -> Letter:
    """Read a letter and, when it has no headings, infer its sections from what its sentences say."""
    letter = letter_mod.read(text)
    letter.inferred = infer_sections(letter, lexicon())
    return letter


def rule_findings(text: str) -> tuple[Letter, list[Finding]]:
    """The letter analysis and every rule finding, merged: the part both backends share."""
    letter = analyse(text)
    found: list[Finding] = []
    superseded: set[str] = set()
    rules = load_rules()
    for rule in rules:
        if rule.defer_to:
            continue
        produced = run_rule(rule, letter)
        if produced:
            superseded.update(rule.supersedes)
        found.extend(produced)
    # Deferring rules last, told where the others already report, so they skip what _merge would drop.
    letter._memo["reported"] = [(f.category, f.start, f.end) for f in found
                                if f.rule not in superseded and f.end > f.start]
    for rule in rules:
        if rule.defer_to:
            found.extend(run_rule(rule, letter))
    merged = _merge(found, superseded)
    merged = _blamed_cause_given(letter, merged)
    hollow = _hollow_findings(letter, merged)
    if hollow:
        merged = sorted(merged + hollow, key=_in_order)
    return letter, merged


def critique(text: str) -> Critique:
    """Review a Plan of Action offline: findings at exact spans, sections, readiness score and verdict."""
    if not isinstance(text, str):
        raise TypeError(f"critique() takes the letter as str, not {type(text).__name__}")
    letter, findings = rule_findings(text)
    # A part is present exactly when no missing-section finding reports it, so the two never disagree.
    parts = {rule.id: rule.params["section"] for rule in _section_rules()}
    absent = {parts[f.rule] for f in findings if f.rule in parts}
    score, verdict, reason, deductions = scoring.readiness(findings)
    return Critique(
        findings=findings,
        sections=Sections(**{name: name not in absent for name in Sections.model_fields}),
        section_spans=_section_spans(letter),
        score=score,
        verdict=verdict,
        verdict_reason=reason,
        deductions=deductions,
        stats=TextStats(words=_letter_words(letter), characters=len(text)),
        rules_version=rules_version(),
    )
