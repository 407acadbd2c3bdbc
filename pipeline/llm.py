"""The LLM backend: any OpenAI-compatible server through openai + instructor, producing the same
models as the offline engine. The rules always run; the model adds judgement on top, and whatever
it says is checked against the input (quotes must exist, identifiers must come from the notice).

Imported only when the backend is chosen, so the offline path needs neither key nor packages."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import instructor
import openai
from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from . import scoring, tokens
from .calls import CallLog
from .cases import default_home
from .critic import critique as offline_critique
from .drafter import SECTION_TITLES, draft as offline_draft
from .letter import word_count
from .models import (
    CATEGORIES,
    POA,
    ActionItem,
    Category,
    Critique,
    Draft,
    Facts,
    Finding,
    MeasureItem,
    Notice,
    RootCauseItem,
    Severity,
    TextStats,
    VIOLATIONS,
)
from .prompts import Prompt, load_prompt
from .redact import Redactor
from .settings import Settings

MODES = {
    "tools": instructor.Mode.TOOLS,
    "json": instructor.Mode.JSON,
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "md_json": instructor.Mode.MD_JSON,
}
_ASIN = re.compile(r"\bB0[A-Z0-9]{8}\b")
_ORDER = re.compile(r"\b\d{3}-\d{7}-\d{7}\b")
_ISO_DATE = re.compile(r"\b20\d\d-\d{2}-\d{2}\b")
_PROMISE = re.compile(r"\b(will|shall|going to|plan to)\b", re.I)


class LLMError(Exception):
    """The model call failed; the message names the cause for the user."""


# --- what the model answers -------------------------------------------------------------------------------


class ModelFinding(BaseModel):
    category: Category
    severity: Severity
    quote: str = Field(description="The weak line copied exactly from the letter")
    message: str = Field(description="Why it hurts the appeal")
    suggestion: str = Field(description="A better line, specific and evidenced")

    @field_validator("quote")
    @classmethod
    def _quote_exists(cls, quote: str, info: ValidationInfo) -> str:
        text = (info.context or {}).get("text")
        if text is not None and (not quote.strip() or quote not in text):
            raise ValueError(f"the quote {quote[:80]!r} is not in the letter; copy the line exactly as written")
        return quote


class ModelReview(BaseModel):
    findings: list[ModelFinding] = []


class ModelDraft(BaseModel):
    root_causes: list[str] = Field(description="Root cause paragraphs, owned by the seller")
    corrective_actions: list[str] = Field(description="Actions already taken, past tense, each with date and proof")
    preventive_measures: list[str] = Field(description="Controls with owner, frequency and start date")

    @field_validator("corrective_actions")
    @classmethod
    def _past_tense(cls, items: list[str]) -> list[str]:
        promised = [i for i in items if _PROMISE.search(i)]
        if promised:
            raise ValueError(f"corrective actions must report what was already done, in the past tense: {promised[0][:80]!r}")
        return items

    @model_validator(mode="after")
    def _nothing_invented(self, info: ValidationInfo) -> "ModelDraft":
        allowed = (info.context or {}).get("allowed")
        if allowed is None:
            return self
        text = "\n".join(self.root_causes + self.corrective_actions + self.preventive_measures)
        invented = [x for rx in (_ASIN, _ORDER, _ISO_DATE) for x in rx.findall(text) if x not in allowed]
        if invented:
            raise ValueError(f"these identifiers or dates are not in the notice or the facts: {sorted(set(invented))}; "
                             "use only the given ones, or keep the bracketed slot")
        return self


def _no_new_identifiers(texts: list[str], info: ValidationInfo) -> None:
    source = (info.context or {}).get("source")
    if source is None:
        return
    joined = "\n".join(texts)
    invented = sorted({x for rx in (_ASIN, _ORDER, _ISO_DATE) for x in rx.findall(joined) if x not in source})
    if invented:
        raise ValueError(f"these identifiers or dates are not in the input: {invented}; use only those given")


class StreamedDraft(BaseModel):
    """The draft as it streams in; checked as a ModelDraft once complete."""

    root_causes: list[str] = []
    corrective_actions: list[str] = []
    preventive_measures: list[str] = []


class ModelNotice(BaseModel):
    violation: str = Field(description="One of the given violation ids")
    asins: list[str] = []
    order_ids: list[str] = []
    dates: list[str] = Field(default=[], description="Dates as written in the notice")

    @model_validator(mode="after")
    def _from_the_notice(self, info: ValidationInfo) -> "ModelNotice":
        source = (info.context or {}).get("source")
        if self.violation not in VIOLATIONS:
            raise ValueError(f"violation must be one of {', '.join(VIOLATIONS)}")
        if source is not None:
            missing = [x for x in self.asins + self.order_ids + self.dates if x not in source]
            if missing:
                raise ValueError(f"not in the notice: {missing}; list only identifiers written in it")
        return self


class ModelRevision(BaseModel):
    letter: str = Field(description="The whole revised letter")
    findings: list[ModelFinding] = Field(default=[], description="Weak lines still in the revised letter")

    @model_validator(mode="after")
    def _checked(self, info: ValidationInfo) -> "ModelRevision":
        _no_new_identifiers([self.letter], info)
        missing = [f.quote for f in self.findings if f.quote not in self.letter]
        if missing:
            raise ValueError(f"these quotes are not in the revised letter: {missing[:3]}; quote it exactly")
        return self


class ModelRejection(BaseModel):
    asks_for: list[str] = Field(description="What Amazon's answer asks the seller to provide")
    missing: list[str] = Field(description="Which of those the letter does not provide yet")
    letter: str = Field(description="The whole revised letter")

    @model_validator(mode="after")
    def _checked(self, info: ValidationInfo) -> "ModelRejection":
        _no_new_identifiers([self.letter], info)
        return self


class RejectionReply(BaseModel):
    asks_for: list[str]
    missing: list[str]
    letter: str
    critique: Critique


# --- the backend -----------------------------------------------------------------------------------------------


class LLMBackend:
    def __init__(self, settings: Settings, home: Path | str | None = None):
        if settings.api_key is None and not settings.base_url:
            raise LLMError("no API key (OPENAI_API_KEY) and no server address (OPENAI_BASE_URL) is set")
        self.settings = settings
        self.log = CallLog(home or default_home())
        self.client = instructor.from_openai(
            openai.OpenAI(
                api_key=settings.api_key.get_secret_value() if settings.api_key else "not-needed",
                base_url=settings.base_url,
                timeout=settings.timeout,
                max_retries=settings.http_retries,
            ),
            mode=MODES[settings.mode],
        )

    @property
    def name(self) -> str:
        return f"openai:{self.settings.model}"

    def _call(self, step: str, prompt: Prompt, values: dict, response_model, context: dict, use_cache: bool = True):
        system, user = prompt.render(**values)
        counted = tokens.count(system + "\n" + user, self.settings.model)
        budget = tokens.BUDGETS.get(step, 6000)
        if counted.tokens > budget:
            raise LLMError(f"the input is {counted.tokens} tokens, over the {budget}-token budget of the {step} step")
        key = CallLog.key(prompt.id, prompt.version, self.settings.model, self.settings.mode, system, user)
        base = {"step": step, "prompt_id": prompt.id, "prompt_version": prompt.version, "model": self.settings.model,
                "mode": self.settings.mode, "exact_tokens": int(counted.exact)}
        if use_cache and self.settings.cache:
            hit = self.log.cached(key)
            if hit is not None:
                answer = response_model.model_validate_json(hit, context=context)
                self.log.record(**base, tokens_in=0, tokens_out=0, latency_ms=0, cost_usd=0.0, outcome="ok", cached=1)
                return answer
        started = time.monotonic()
        try:
            answer, completion = self.client.chat.completions.create_with_completion(
                model=self.settings.model,
                response_model=response_model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                max_retries=self.settings.max_retries,
                context=context,
            )
        except Exception as exc:  # every failure is reported by cause, never raised raw
            latency = int((time.monotonic() - started) * 1000)
            cause = describe(exc)
            self.log.record(**base, tokens_in=counted.tokens, tokens_out=0, latency_ms=latency, cost_usd=0.0,
                            outcome=f"error: {cause[:200]}")
            raise LLMError(cause) from exc
        latency = int((time.monotonic() - started) * 1000)
        usage = getattr(completion, "usage", None)
        t_in = getattr(usage, "prompt_tokens", None) or counted.tokens
        t_out = getattr(usage, "completion_tokens", None) or 0
        self.log.record(**base, tokens_in=t_in, tokens_out=t_out, latency_ms=latency,
                        cost_usd=tokens.cost(self.settings.model, t_in, t_out), outcome="ok")
        if self.settings.cache:
            self.log.store(key, answer.model_dump_json())
        return answer

    # --- jobs ---------------------------------------------------------------------------------------------------

    def critique(self, text: str, names: list[str] | None = None, use_cache: bool = True) -> Critique:
        """Rule findings plus the model's, each at an exact span; rescored; marked with its source."""
        base = offline_critique(text)
        redactor = Redactor(names=names or [])
        sent = redactor.redact(text) if self.settings.redact else text
        prompt = load_prompt("critique")
        rule_lines = "; ".join(f"{f.category}: {f.quote[:60]!r}" for f in base.findings if f.quote) or "none"
        found: list[ModelFinding] = []
        for piece in tokens.split(sent, tokens.BUDGETS["critique"] - 1500, self.settings.model):
            review = self._call("critique", prompt, {"categories": ", ".join(CATEGORIES), "rule_findings": rule_lines,
                                                      "letter": piece}, ModelReview, {"text": piece}, use_cache)
            found += review.findings
        return self._with_model_findings(text, base, found, redactor)

    def _with_model_findings(self, text: str, base: Critique, found: list[ModelFinding], redactor: Redactor) -> Critique:
        """Merge the model's findings into the rules' critique (one finding per span), rescored."""
        findings = list(base.findings)
        for mf in found:
            quote = redactor.restore(mf.quote)
            start = text.find(quote)
            if start < 0:
                continue
            end = start + len(quote)
            if any(f.category == mf.category and f.start < end and start < f.end for f in findings):
                continue  # one finding per span: the rule's stands
            findings.append(Finding(category=mf.category, rule=f"llm.{mf.category}", severity=mf.severity,
                                    start=start, end=end, quote=quote, message=redactor.restore(mf.message),
                                    suggestion=redactor.restore(mf.suggestion), source="llm"))
        findings.sort(key=lambda f: (f.start, f.end))
        score, verdict, reason, deductions = scoring.readiness(findings)
        return base.model_copy(update={"findings": findings, "score": score, "verdict": verdict,
                                       "verdict_reason": reason, "deductions": deductions, "backend": self.name})

    def parse_notice(self, text: str, use_cache: bool = True) -> Notice:
        """The offline reading, with the model's judgement of the violation when the rules are unsure.
        Identifiers the rules found stand; the model may only add ones written in the notice."""
        from .notice import parse_notice as offline_parse

        base = offline_parse(text)
        redactor = Redactor()
        sent = redactor.redact(text) if self.settings.redact else text
        piece = tokens.split(sent, tokens.BUDGETS["notice"] - 500, self.settings.model)[0]
        answer = self._call("notice", load_prompt("notice"), {"violations": ", ".join(VIOLATIONS), "notice": piece},
                            ModelNotice, {"source": piece}, use_cache)
        update = {
            "asins": base.asins + [a for a in answer.asins if a not in base.asins],
            "order_ids": base.order_ids + [o for o in answer.order_ids if o not in base.order_ids],
        }
        if base.violation == "other" or base.confidence < 0.6:
            update["violation"] = answer.violation
        return base.model_copy(update=update)

    def revise(self, text: str, findings: list[Finding], use_cache: bool = True) -> tuple[str, Critique]:
        """Apply the findings the user picked, then critique the result again."""
        redactor = Redactor()
        send = redactor.redact if self.settings.redact else (lambda s: s)
        listed = "\n".join(f"- {f.category}: {send(f.quote)!r} -> {f.suggestion}" for f in findings) or "- none"
        sent = send(text)
        answer = self._call("revise", load_prompt("revise"), {"findings": listed, "letter": sent}, ModelRevision,
                            {"source": sent}, use_cache)
        revised = redactor.restore(answer.letter)
        # One call: the model reviews its own revision in the same answer; the rules run as always.
        return revised, self._with_model_findings(revised, offline_critique(revised), answer.findings, redactor)

    def rejection(self, letter: str, answer_text: str, use_cache: bool = True) -> RejectionReply:
        """Read Amazon's answer to an appeal: what it asks for, what the letter lacks, and a revision."""
        redactor = Redactor()
        send = redactor.redact if self.settings.redact else (lambda s: s)
        sent_letter, sent_answer = send(letter), send(answer_text)
        reply = self._call("rejection", load_prompt("rejection"), {"answer": sent_answer, "letter": sent_letter},
                           ModelRejection, {"source": sent_letter + "\n" + sent_answer}, use_cache)
        revised = redactor.restore(reply.letter)
        return RejectionReply(asks_for=redactor.restore(reply.asks_for), missing=redactor.restore(reply.missing),
                              letter=revised, critique=self.critique(revised, use_cache=use_cache))

    async def stream_draft(self, notice: Notice, facts: Facts | None = None):
        """Yield the draft's sections as the model writes them (dicts of lists of lines, growing).
        The complete answer is then checked like `draft`; the caller finishes with `draft()` when
        the streamed answer fails its checks or the stream breaks."""
        facts = facts or Facts()
        base = offline_draft(notice, facts)
        redactor = Redactor(names=[n for n in [facts.signer, facts.slots.get("owner")] if n])
        send = redactor.redact if self.settings.redact else (lambda s: s)
        identifiers = notice.asins + notice.order_ids + notice.complaint_ids
        system, user = load_prompt("draft").render(
            violation=notice.violation, identifiers=", ".join(identifiers) or "none", draft=send(base.text),
            facts=send(json.dumps(facts.model_dump(exclude_defaults=True), ensure_ascii=False)))
        client = instructor.from_openai(
            openai.AsyncOpenAI(api_key=self.settings.api_key.get_secret_value() if self.settings.api_key else "not-needed",
                               base_url=self.settings.base_url, timeout=self.settings.timeout,
                               max_retries=self.settings.http_retries),
            mode=MODES[self.settings.mode],
        )
        try:
            stream = client.chat.completions.create_partial(
                model=self.settings.model, response_model=StreamedDraft, max_retries=0,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            )
            async for partial in stream:
                yield redactor.restore(partial.model_dump(exclude_none=True))
        except Exception as exc:
            raise LLMError(describe(exc)) from exc
        finally:
            await client.client.close()

    def draft(self, notice: Notice, facts: Facts | None = None, use_cache: bool = True) -> Draft:
        """The offline draft rewritten by the model from the seller's facts, checked and re-critiqued."""
        facts = facts or Facts()
        base = offline_draft(notice, facts)
        names = [n for n in [facts.signer, facts.slots.get("owner")] if n]
        redactor = Redactor(names=names)
        facts_json = json.dumps(facts.model_dump(exclude_defaults=True), ensure_ascii=False)
        send = redactor.redact if self.settings.redact else (lambda s: s)
        identifiers = notice.asins + notice.order_ids + notice.complaint_ids
        allowed = set(identifiers) | set(_ISO_DATE.findall(facts_json)) | set(notice.dates)
        answer = self._call(
            "draft", load_prompt("draft"),
            {"violation": notice.violation, "identifiers": ", ".join(identifiers) or "none",
             "draft": send(base.text), "facts": send(facts_json)},
            ModelDraft, {"allowed": allowed}, use_cache,
        )
        return self._assemble(notice, base, answer, redactor, names, use_cache)

    def finish_draft(self, notice: Notice, facts: Facts | None, streamed: dict) -> Draft:
        """A streamed answer, checked like a normal one (ValueError when it fails its checks)."""
        facts = facts or Facts()
        base = offline_draft(notice, facts)
        names = [n for n in [facts.signer, facts.slots.get("owner")] if n]
        facts_json = json.dumps(facts.model_dump(exclude_defaults=True), ensure_ascii=False)
        allowed = set(notice.asins + notice.order_ids + notice.complaint_ids) | set(_ISO_DATE.findall(facts_json)) \
            | set(notice.dates)
        answer = ModelDraft.model_validate(streamed, context={"allowed": allowed})
        return self._assemble(notice, base, answer, Redactor(names=names), names, True)

    def _assemble(self, notice: Notice, base: Draft, answer: ModelDraft, redactor: Redactor, names, use_cache) -> Draft:
        poa = POA(
            root_causes=[RootCauseItem(text=redactor.restore(t)) for t in answer.root_causes],
            corrective_actions=[ActionItem(text=redactor.restore(t)) for t in answer.corrective_actions],
            preventive_measures=[MeasureItem(text=redactor.restore(t)) for t in answer.preventive_measures],
        )
        body = base.text.split(SECTION_TITLES["root_causes"])[0]
        lines = [body.rstrip(), ""]
        for key, items in (("root_causes", poa.root_causes), ("corrective_actions", poa.corrective_actions),
                           ("preventive_measures", poa.preventive_measures)):
            lines += [SECTION_TITLES[key]] + [f"{i}. {item.text}" for i, item in enumerate(items, 1)] + [""]
        tail = base.text.split("We respectfully request", 1)
        lines.append("We respectfully request" + tail[1] if len(tail) == 2 else "")
        text = "\n".join(lines)
        missing = [a for a in notice.asins if a not in text]
        if missing:  # every ASIN of the notice appears in the letter
            text = text.replace(body.rstrip(), body.rstrip() + f" ASINs: {', '.join(missing)}.", 1)
        return base.model_copy(update={
            "poa": poa, "text": text, "markdown": text, "critique": self.critique(text, names, use_cache),
            "stats": TextStats(words=word_count(text), characters=len(text)), "backend": self.name,
        })


def describe(exc: Exception) -> str:
    """A user-facing cause for a failed model call."""
    chain, cause = [exc], exc
    for _ in range(6):  # instructor wraps HTTP errors; the cause is attached
        inner = getattr(cause, "__cause__", None) or getattr(cause, "last_exception", None)
        if inner is None or inner in chain:
            break
        chain.append(inner)
        cause = inner
    for cause in chain:
        if isinstance(cause, openai.RateLimitError):
            return "the server is rate-limiting requests (HTTP 429); wait a minute and try again"
        if isinstance(cause, openai.APITimeoutError):
            return "the model did not answer in time (timeout); try again or raise POA_TIMEOUT"
        if isinstance(cause, openai.APIConnectionError):
            return "cannot reach the model server (connection refused or no network); check OPENAI_BASE_URL"
        if isinstance(cause, openai.AuthenticationError):
            return "the server refused the API key (HTTP 401); check OPENAI_API_KEY"
        if isinstance(cause, openai.APIStatusError):
            return f"the model server failed (HTTP {cause.status_code})"
    text = " ".join(f"{type(c).__name__} {c}" for c in chain).lower()
    if "validation" in text or "json" in text:
        return "the model's answer was not valid structured output, even after re-asking"
    return f"the model call failed: {type(chain[-1]).__name__}"


def with_fallback(llm_job, offline_job):
    """Run the model job; on failure return the offline result and the reason, the user's text kept."""
    try:
        return llm_job(), None
    except LLMError as exc:
        return offline_job(), str(exc)
