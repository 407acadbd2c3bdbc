"""The page: paste a notice and get a draft, or paste a POA and get a review. UI only; every
decision is made in pipeline/."""

from __future__ import annotations

import threading

import streamlit as st

import pipeline
from pipeline import preload
from pipeline.cases import CaseStore, StoreError, default_home
from pipeline.i18n import LANGUAGES, category_labels, finding_text, t
from pipeline.inputs import paste_problem
from pipeline.review import highlight_html, legend_html, section_texts

S = "poa."  # session keys are namespaced


def lang() -> str:
    return st.session_state.get(S + "lang", "en")


def tr(key: str, **values) -> str:
    return t(key, lang(), **values)


@st.cache_resource(show_spinner=False)
def open_store(home: str) -> CaseStore:
    return CaseStore(home)


WARM_UP_AFTER_S = 2.0


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Timer:
    """Load the rules once per server, so the first check a user asks for is as fast as the rest.

    It waits until the first page has drawn: loading holds Python's lock for about half a second,
    and run while the browser fetches the page's widget scripts from this same process it held the
    page back by as much (bench/page_bench.py). A check asked for sooner loads them itself, or waits
    for the loading under way (`preload`), never loading twice."""
    timer = threading.Timer(WARM_UP_AFTER_S, preload)
    timer.name, timer.daemon = "poa-warm-up", True
    timer.start()
    return timer


def store() -> CaseStore | None:
    try:
        return open_store(st.session_state.get(S + "home") or str(default_home()))
    except StoreError as exc:
        st.error(tr("store.error", error=str(exc)))
        return None


def guarded(action):
    """Run a store action; a store problem is shown, never raised, and the typed text stays."""
    try:
        return action()
    except StoreError as exc:
        st.error(tr("store.error", error=str(exc)))
        return None


# --- sidebar ---------------------------------------------------------------------------------------------


def sidebar() -> None:
    with st.sidebar:
        st.radio(tr("sidebar.language"), list(LANGUAGES), format_func=LANGUAGES.get, key=S + "lang", horizontal=True)
        st.selectbox(tr("sidebar.backend"), ["offline", "openai"], key=S + "backend", help=tr("sidebar.backend_help"))
        if st.session_state.get(S + "backend") == "openai":
            model_settings()
        st.text_input(tr("sidebar.home"), value=str(default_home()), key=S + "home", help=tr("sidebar.home_help"))
        st.divider()
        st.subheader(tr("sidebar.cases"))
        cases = store()
        if cases is None:
            return
        summaries = guarded(cases.list) or []
        if not summaries:
            st.caption(tr("sidebar.no_cases"))
        # A case open on the page is highlighted and says so instead of its version count: a re-check
        # reruns only the review (a fragment), so a count here would lag one version behind the review's.
        open_now = {st.session_state.get(S + "case.draft"), st.session_state.get(S + "case.critique")}
        for case in summaries:
            cols = st.columns([4, 1])
            mode = tr(f"mode.{case.mode}")
            is_open = case.id in open_now
            state = tr("sidebar.open_now") if is_open else f"v{case.versions}"
            cols[0].button(f"{case.title} · {mode} · {state}", key=f"{S}open.{case.id}", use_container_width=True,
                           type="primary" if is_open else "secondary", on_click=open_case, args=(case.id,))
            cols[1].button(":material/delete:", key=f"{S}delete.{case.id}", help=tr("sidebar.delete"), on_click=delete_case,
                           args=(case.id,), use_container_width=True)
        current = st.session_state.get(S + "case.draft") or st.session_state.get(S + "case.critique")
        if current:
            exported = guarded(lambda: cases.export(current))
            if exported:
                st.download_button(tr("sidebar.export"), exported, file_name=f"poa-case-{current}.json",
                                   mime="application/json", key=S + "export")
        # The uploader appears when asked for: it is the slowest widget to first draw, and the page
        # should be usable at once.
        if not st.session_state.get(S + "import_open") and not st.button(tr("sidebar.import_open"), key=S + "import_open_button"):
            return
        st.session_state[S + "import_open"] = True
        st.file_uploader(tr("sidebar.import"), type=["json"], key=S + "import", on_change=import_case)
        if st.session_state.pop(S + "import_done", False):
            st.success(tr("sidebar.imported"))


# The sidebar is drawn after the page, so its buttons act in callbacks: they run before the next
# run draws anything, when the boxes they fill can still be set.
def delete_case(case_id: str) -> None:
    cases = store()
    if cases is None or not guarded(lambda: cases.delete(case_id) or True):
        return
    for key in ("case.draft", "case.critique"):
        if st.session_state.get(S + key) == case_id:
            st.session_state.pop(S + key)


def import_case() -> None:
    upload = st.session_state.get(S + "import")
    cases = store()
    if upload is None or cases is None:
        return
    new_id = guarded(lambda: cases.import_json(upload.getvalue().decode("utf-8", errors="replace")))
    if new_id:
        open_case(new_id)
        st.session_state[S + "import_done"] = True


def model_settings() -> None:
    """The model server: preset, address, model, mode, key (kept in this session only, never saved)."""
    from pipeline.settings import PRESETS

    preset = st.selectbox(tr("model.preset"), list(PRESETS), key=S + "preset")
    defaults = PRESETS[preset]
    st.text_input(tr("model.base_url"), defaults["base_url"], key=S + f"base_url.{preset}")
    st.text_input(tr("model.model"), defaults["model"], key=S + f"model.{preset}")
    st.selectbox(tr("model.mode"), ["tools", "json", "json_schema", "md_json"],
                 index=["tools", "json", "json_schema", "md_json"].index(defaults["mode"]), key=S + f"mode.{preset}")
    st.text_input(tr("model.key"), type="password", key=S + "api_key", help=tr("model.key_help"))
    st.toggle(tr("model.redact"), value=True, key=S + "redact", help=tr("model.redact_help"))
    st.toggle(tr("model.cache"), value=True, key=S + "cache")


def model_backend():
    """The LLM backend from the sidebar, or None for offline (also when it cannot be set up)."""
    if st.session_state.get(S + "backend") != "openai":
        return None
    from pipeline.llm import LLMBackend, LLMError
    from pipeline.settings import Settings

    preset = st.session_state.get(S + "preset", "openai")
    try:
        settings = Settings.from_env(
            backend="openai", preset=preset, base_url=st.session_state.get(S + f"base_url.{preset}"),
            model=st.session_state.get(S + f"model.{preset}"), mode=st.session_state.get(S + f"mode.{preset}"),
            api_key=st.session_state.get(S + "api_key") or None, redact=st.session_state.get(S + "redact", True),
            cache=st.session_state.get(S + "cache", True),
        )
        return LLMBackend(settings, home=st.session_state.get(S + "home") or None)
    except (LLMError, ValueError) as exc:
        st.session_state[S + "model_problem"] = tr("model.failed", error=str(exc))
        return None


def estimate(text: str, step: str) -> None:
    """Before anything is sent to a model: its estimated tokens and cost."""
    if st.session_state.get(S + "backend") != "openai" or not text.strip():
        return
    from pipeline import tokens
    from pipeline.prompts import load_prompt

    preset = st.session_state.get(S + "preset", "openai")
    model = st.session_state.get(S + f"model.{preset}") or "gpt-4o-mini"
    prompt = load_prompt(step)
    counted = tokens.count(prompt.system + prompt.user + text, model)
    approx = "" if counted.exact else tr("model.approximate")
    st.caption(tr("model.estimate", tokens=counted.tokens, cost=tokens.cost(model, counted.tokens, 800), approx=approx))


def streamed_draft(notice, facts):
    """With a model: show the draft as it is written, then check it; offline: draft at once."""
    preload()
    backend = model_backend()
    if backend is None:
        return pipeline.draft(notice, facts)
    import asyncio

    from pipeline.llm import LLMError

    shown = st.empty()

    async def consume():
        last = {}
        async for partial in backend.stream_draft(notice, facts):
            last = partial
            lines = [f"**{tr('section.' + key)}**\n" + "\n".join(f"{i}. {t}" for i, t in enumerate(items, 1))
                     for key, items in (("root_cause", partial.get("root_causes", [])),
                                        ("corrective_actions", partial.get("corrective_actions", [])),
                                        ("preventive_measures", partial.get("preventive_measures", []))) if items]
            shown.markdown("\n\n".join(lines) + " ▌")
        return last

    try:
        result = backend.finish_draft(notice, facts, asyncio.run(consume()))
    except (LLMError, ValueError):
        result = run_job(lambda b: b.draft(notice, facts), lambda: pipeline.draft(notice, facts))
    shown.empty()
    return result


def run_job(llm_job, offline_job):
    """The model's result, or the offline one with the reason shown when the model fails."""
    preload()  # the rules run in both backends
    backend = model_backend()
    if backend is None:
        return offline_job()
    from pipeline.llm import with_fallback

    result, error = with_fallback(lambda: llm_job(backend), offline_job)
    if error:
        st.session_state[S + "model_problem"] = tr("model.failed", error=error)
    return result


def open_case(case_id: str) -> None:
    cases = store()
    case = guarded(lambda: cases.get(case_id)) if cases else None
    if case is None:
        return
    st.session_state[S + f"case.{case.mode}"] = case.id
    st.query_params["case"] = case.id
    if case.mode == "draft":
        st.session_state[S + "notice_text"] = case.notice_text
        st.session_state[S + "notice"] = case.notice
        st.session_state[S + "facts"] = case.facts
        new_reading()
    else:
        st.session_state[S + "letter_text"] = case.versions[-1].text if case.versions else ""
    if case.versions:
        st.session_state[S + f"edit.{case.id}"] = case.versions[-1].text
    # Text typed after the last version and never checked comes back as it was left.
    typed = guarded(lambda: cases.typed(case.id)) or {}
    if case.mode == "critique" and "letter" in typed:
        st.session_state[S + "letter_text"] = typed["letter"]
    if "edit" in typed and case.versions:
        st.session_state[S + f"edit.{case.id}"] = typed["edit"]
        st.session_state[S + f"typed_restored.{case.id}"] = True
    st.session_state[S + "tab"] = case.mode


def keep_typed(key: str, field: str, mode: str, case_id: str | None = None) -> None:
    """Keep a box's text in its case as it is typed, before any check: a refresh must not lose it.
    Without a case yet (a first paste), one is made for it."""
    text = st.session_state.get(S + key, "")
    case_id = case_id or st.session_state.get(S + f"case.{mode}")
    if not case_id and not text.strip():
        return
    case_id = case_id or ensure_case(mode)
    cases = store()
    if case_id and cases:
        guarded(lambda: cases.keep_typed(case_id, field, text))


def as_markdown(text: str) -> str:
    from pipeline.export import to_markdown  # loaded when a download is asked for, not with the page

    return to_markdown(text)


def as_docx(text: str) -> bytes:
    from pipeline.export import to_docx

    return to_docx(text)


# --- review ------------------------------------------------------------------------------------------------


def show_unsaved(text: str, result) -> None:
    """When cases cannot be saved, still show the review of what was checked."""
    labels = category_labels(lang())
    st.metric(tr("review.score"), f"{result.score}/100")
    st.html(highlight_html(text, result.findings, labels))
    for f in result.findings:
        message, suggestion = finding_text(f, lang())
        with st.expander(f"{labels.get(f.category, f.category)} · {f.severity} · {f.quote[:90]}"):
            st.markdown(f"**{tr('review.why')}** {message}")
            st.markdown(f"**{tr('review.better')}** {suggestion}")


def recheck(case_id: str) -> None:
    """Re-check the edited letter and save it as a new version (runs before the page is drawn)."""
    text = st.session_state.get(S + f"edit.{case_id}", "")
    problem = paste_problem(text)
    if problem:
        st.session_state[S + "recheck_problem"] = tr("input." + problem)
        return
    cases = store()
    if cases is not None:
        checked = run_job(lambda b: b.critique(text), lambda: pipeline.critique(text))
        guarded(lambda: cases.add_version(case_id, text, checked, "edit", checked.backend))


def model_tools(case_id: str, text: str, result) -> None:
    """With a model: apply picked findings, or answer Amazon's reply to the appeal; each a new version."""
    from pipeline.llm import LLMError

    st.subheader(tr("model.tools"))
    labels = category_labels(lang())
    options = list(range(len(result.findings)))
    picked = st.multiselect(tr("model.pick"), options, format_func=lambda i: f"{labels.get(result.findings[i].category)}: "
                            f"{result.findings[i].quote[:70] or tr('review.whole_letter')}", key=S + f"pick.{case_id}")
    cases = store()
    if st.button(tr("model.revise"), key=S + f"revise.{case_id}", disabled=not picked):
        backend = model_backend()
        try:
            with st.spinner(tr("model.working")):
                revised, checked = backend.revise(text, [result.findings[i] for i in picked])
            guarded(lambda: cases.add_version(case_id, revised, checked, "revise", checked.backend))
            st.session_state[S + f"edit.{case_id}"] = revised
            st.rerun()
        except (LLMError, AttributeError) as exc:
            st.warning(tr("model.failed", error=str(exc)))
    answer = st.text_area(tr("model.answer"), key=S + f"answer.{case_id}", height=120)
    if st.button(tr("model.read_answer"), key=S + f"rejection.{case_id}", disabled=not answer.strip()):
        backend = model_backend()
        try:
            with st.spinner(tr("model.working")):
                reply = backend.rejection(text, answer)
            st.session_state[S + f"asks.{case_id}"] = (reply.asks_for, reply.missing)
            guarded(lambda: cases.add_version(case_id, reply.letter, reply.critique, "rejection", reply.critique.backend))
            st.session_state[S + f"edit.{case_id}"] = reply.letter
            st.rerun()
        except (LLMError, AttributeError) as exc:
            st.warning(tr("model.failed", error=str(exc)))
    asks = st.session_state.get(S + f"asks.{case_id}")
    if asks:
        st.markdown(f"**{tr('model.asks')}** " + "; ".join(asks[0]))
        st.markdown(f"**{tr('model.missing')}** " + ("; ".join(asks[1]) or "—"))


# A fragment: a re-check reruns this review only, not the sidebar and the other tab's review (which
# took a 600-word re-check from ~1.2 s to ~0.4 s in the browser). The sidebar's version count catches
# up on the next full run.
@st.fragment
def review(case_id: str) -> None:
    cases = store()
    case = guarded(lambda: cases.get(case_id)) if cases else None
    if case is None or not case.versions:
        return
    latest = case.versions[-1]
    result = latest.critique or pipeline.critique(latest.text)
    labels = category_labels(lang())
    cols = st.columns(4)
    cols[0].metric(tr("review.score"), f"{result.score}/100")
    cols[1].metric(tr("review.verdict"), tr(f"verdict.{result.verdict}"))
    cols[2].metric(tr("review.findings"), len(result.findings))
    cols[3].metric(tr("review.version"), f"v{latest.number}")
    st.caption(tr("review.backend", backend=latest.backend, words=result.stats.words, chars=result.stats.characters))
    problem = st.session_state.pop(S + "model_problem", None)
    if problem:
        st.warning(problem)
    st.html(legend_html(labels))
    st.html(highlight_html(latest.text, result.findings, labels))

    st.subheader(tr("review.findings_title"))
    if not result.findings:
        st.success(tr("review.no_findings"))
    for f in result.findings:
        message, suggestion = finding_text(f, lang())
        where = f"“{f.quote}”" if f.quote else tr("review.whole_letter")
        with st.expander(f"{labels.get(f.category, f.category)} · {f.severity} · {where[:90]}"):
            st.markdown(f"**{tr('review.why')}** {message}")
            st.markdown(f"**{tr('review.better')}** {suggestion}")
            st.caption(f.rule)
    if result.deductions:
        with st.expander(tr("review.score_detail")):
            for d in result.deductions:
                st.write(f"−{d.points} · {d.rule} ({d.count} × {d.severity})")

    st.subheader(tr("review.sections"))
    parts = section_texts(latest.text, result.section_spans)
    for name in ("root_cause", "corrective_actions", "preventive_measures"):
        body = parts.get(name, "")
        st.text_area(f"{tr('section.' + name)} · {tr('review.chars', n=len(body))}", body, disabled=True,
                     key=f"{S}section.{case_id}.{latest.number}.{name}", height=110)

    st.subheader(tr("review.edit"))
    edit_key = S + f"edit.{case_id}"
    if edit_key not in st.session_state:
        st.session_state[edit_key] = latest.text
    if st.session_state.pop(S + f"typed_restored.{case_id}", False):
        st.info(tr("review.typed_restored"))
    st.text_area(tr("review.edit_label"), key=edit_key, height=320, on_change=keep_typed,
                 args=(f"edit.{case_id}", "edit", case.mode, case_id))
    st.button(tr("review.recheck"), key=S + f"recheck.{case_id}", type="primary", on_click=recheck, args=(case_id,))
    problem = st.session_state.pop(S + "recheck_problem", None)
    if problem:
        st.error(problem)

    if st.session_state.get(S + "backend") == "openai":
        model_tools(case_id, latest.text, result)

    st.subheader(tr("review.download"))
    cols = st.columns(3)
    cols[0].download_button(".txt", latest.text, file_name="plan-of-action.txt", mime="text/plain", key=S + "dl.txt")
    # The files are made when a button is clicked (on Streamlit's download thread, so no st.* calls and
    # no st caches), not on every check: a .docx takes ~0.1 s to build.
    text = latest.text
    cols[1].download_button(".md", lambda: as_markdown(text), file_name="plan-of-action.md",
                            mime="text/markdown", key=S + "dl.md")
    cols[2].download_button(".docx", lambda: as_docx(text), file_name="plan-of-action.docx", key=S + "dl.docx",
                            mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")


# --- draft from a notice -------------------------------------------------------------------------------------


def ensure_case(mode: str) -> str | None:
    key = S + f"case.{mode}"
    if not st.session_state.get(key):
        cases = store()
        case_id = guarded(lambda: cases.create(mode)) if cases else None
        if case_id is None:
            return None
        st.session_state[key] = case_id
        st.query_params["case"] = case_id
    return st.session_state[key]


def new_reading() -> None:
    """A notice was read or a case opened: the correction boxes start again from what it says."""
    st.session_state[S + "reading"] = st.session_state.get(S + "reading", 0) + 1


def save_notice_text() -> None:
    """Keep what was pasted even before it is read: a refresh must not lose it."""
    text = st.session_state.get(S + "notice_text", "")
    if text.strip():
        case_id = ensure_case("draft")
        cases = store()
        if case_id and cases:
            guarded(lambda: cases.save_notice(case_id, text, st.session_state.get(S + "notice")))


def draft_tab() -> None:
    st.text_area(tr("draft.paste"), key=S + "notice_text", height=220, on_change=save_notice_text,
                 placeholder=tr("draft.paste_placeholder"))
    if st.button(tr("draft.read"), key=S + "read", type="primary"):
        text = st.session_state.get(S + "notice_text", "")
        problem = paste_problem(text)
        if problem:
            st.error(tr("input." + problem))
        else:
            with st.spinner(tr("draft.reading")):
                notice = run_job(lambda b: b.parse_notice(text), lambda: pipeline.parse_notice(text))
            st.session_state[S + "notice"] = notice
            new_reading()
            case_id = ensure_case("draft")
            cases = store()
            if case_id and cases:
                guarded(lambda: cases.save_notice(case_id, text, notice))
                guarded(lambda: cases.rename(case_id, f"{notice.violation} · {', '.join(notice.asins[:2]) or case_id}"))
    notice = st.session_state.get(S + "notice")
    if notice is None:
        return
    from pipeline.models import VIOLATIONS, Facts
    from pipeline.playbooks import load_playbooks

    books = load_playbooks()
    st.subheader(tr("draft.alleged"))
    if notice.warnings:
        for w in notice.warnings:
            st.warning(w)
    cols = st.columns([3, 1])
    # The boxes below belong to this reading of the notice (a new one starts from what it says), and
    # the violation box to this interface language too: the browser would keep showing a choice in
    # the words it was made in. The choice itself is kept by its id across languages.
    reading = st.session_state.get(S + "reading", 0)
    chosen_key = S + f"violation_id.{reading}"
    current = st.session_state.get(chosen_key, notice.violation)
    index = VIOLATIONS.index(current) if current in VIOLATIONS else VIOLATIONS.index("other")
    chosen = cols[0].selectbox(
        tr("draft.violation"), VIOLATIONS, index=index, key=S + f"violation.{reading}.{lang()}",
        format_func=lambda v: books[v].title_zh if lang() == "zh" and books[v].title_zh else books[v].title,
    )
    st.session_state[chosen_key] = chosen
    cols[1].metric(tr("draft.confidence"), f"{notice.confidence:.0%}")
    asins = st.text_input(tr("draft.asins"), ", ".join(notice.asins), key=S + f"asins.{reading}")
    orders = st.text_input(tr("draft.orders"), ", ".join(notice.order_ids), key=S + f"orders.{reading}")
    details = []
    for m in notice.metrics:
        details.append(f"{m.name}: {m.value:g}%" + (f" ({m.target})" if m.target else ""))
    if notice.deadline_days is not None:
        details.append(tr("draft.deadline", days=notice.deadline_days))
    if notice.marketplace:
        details.append(notice.marketplace)
    if notice.requested_documents:
        details.append(tr("draft.documents") + ": " + ", ".join(notice.requested_documents))
    if details:
        st.caption(" · ".join(details))
    corrected = notice.model_copy(update={
        "violation": chosen,
        "asins": [a.strip() for a in asins.split(",") if a.strip()],
        "order_ids": [o.strip() for o in orders.split(",") if o.strip()],
    })

    st.subheader(tr("draft.questions"))
    facts = st.session_state.get(S + "facts") or Facts()
    items = pipeline.questions(corrected, facts)
    choice = items[0]
    options = [o.id for o in choice.options]
    labels = {o.id: (o.label_zh if lang() == "zh" and o.label_zh else o.label) for o in choice.options}
    picked = st.multiselect(choice.ask_zh if lang() == "zh" else choice.ask, options,
                            default=[r for r in facts.root_causes if r in options] or options[:1],
                            format_func=labels.get, key=S + f"root_causes.{reading}", help=choice.proof)
    with st.form(S + "facts_form"):
        what = st.text_area(tr("draft.what_happened"), facts.what_happened or "", key=S + "what_happened")
        slots = {}
        for q in pipeline.questions(corrected, Facts(root_causes=picked)):
            if not q.slot:
                continue
            ask = q.ask_zh if lang() == "zh" and q.ask_zh else q.ask
            slots[q.slot] = st.text_input(ask, facts.slots.get(q.slot, ""), key=S + f"slot.{q.slot}",
                                          help=tr("draft.proof", proof=q.proof), placeholder=q.example)
        signer = st.text_input(tr("draft.signer"), facts.signer or "", key=S + "signer")
        store_name = st.text_input(tr("draft.store"), facts.store or "", key=S + "store")
        submitted = st.form_submit_button(tr("draft.make"), type="primary")
    if submitted:
        new_facts = Facts(root_causes=picked, what_happened=what or None,
                          slots={k: v for k, v in slots.items() if v.strip()}, signer=signer or None,
                          store=store_name or None, actions=facts.actions, measures=facts.measures)
        st.session_state[S + "facts"] = new_facts
        with st.spinner(tr("draft.drafting")):
            result = streamed_draft(corrected, new_facts)
        case_id = ensure_case("draft")
        cases = store()
        if result.open_slots:
            st.session_state[S + "flash"] = tr("draft.open_slots", n=len(result.open_slots))
        st.session_state[S + "draft_warnings"] = list(result.warnings)
        if case_id and cases:
            guarded(lambda: cases.save_notice(case_id, st.session_state.get(S + "notice_text", ""), corrected))
            guarded(lambda: cases.save_facts(case_id, new_facts))
            if guarded(lambda: cases.add_version(case_id, result.text, result.critique, "draft", result.backend)):
                st.session_state[S + f"edit.{case_id}"] = result.text
                st.rerun()
        st.session_state[S + "unsaved.draft"] = (result.text, result.critique)
    if st.session_state.get(S + "flash"):
        st.info(st.session_state.pop(S + "flash"))
    for warning in st.session_state.pop(S + "draft_warnings", []):
        st.warning(warning)
    case_id = st.session_state.get(S + "case.draft")
    if case_id:
        review(case_id)
    elif st.session_state.get(S + "unsaved.draft"):
        show_unsaved(*st.session_state[S + "unsaved.draft"])


# --- critique a POA ---------------------------------------------------------------------------------------------


def check_letter() -> None:
    """Check the pasted letter and save it as a version of the review case (before the page is drawn,
    so the sidebar already lists the case)."""
    text = st.session_state.get(S + "letter_text", "")
    problem = paste_problem(text)
    if problem:
        st.session_state[S + "check_problem"] = tr("input." + problem)
        return
    result = run_job(lambda b: b.critique(text), lambda: pipeline.critique(text))
    case_id = ensure_case("critique")
    cases = store()
    if case_id and cases and guarded(lambda: cases.add_version(case_id, text, result, "critique", result.backend)):
        st.session_state[S + f"edit.{case_id}"] = text
    else:
        st.session_state[S + "unsaved.critique"] = (text, result)


def critique_tab() -> None:
    st.text_area(tr("critique.paste"), key=S + "letter_text", height=260, placeholder=tr("critique.paste_placeholder"),
                 on_change=keep_typed, args=("letter_text", "letter", "critique"))
    estimate(st.session_state.get(S + "letter_text", ""), "critique")
    st.button(tr("critique.check"), key=S + "check", type="primary", on_click=check_letter)
    problem = st.session_state.pop(S + "check_problem", None)
    if problem:
        st.error(problem)
    unsaved = st.session_state.get(S + "unsaved.critique")
    if unsaved and not st.session_state.get(S + "case.critique"):
        show_unsaved(*unsaved)
    case_id = st.session_state.get(S + "case.critique")
    if case_id:
        review(case_id)


def evals_tab() -> None:
    """Run the offline evaluation, browse a case, see per-category figures, compare two runs."""
    # Tabs draw all their content on every run; the evals stay closed until asked for, so the other
    # pages stay fast.
    cols = st.columns(2)
    run_now = cols[0].button(tr("evals.run"), key=S + "evals.run", type="primary")
    if cols[1].button(tr("evals.open"), key=S + "evals.open_button") or run_now:
        st.session_state[S + "evals.open"] = True
    if not st.session_state.get(S + "evals.open"):
        return
    import json
    from pathlib import Path

    import pandas as pd

    from pipeline.evaluation import EVALS, compare, load_letters, run_eval, write_run
    from pipeline.models import Finding

    runs_dir = Path(st.session_state.get(S + "runs_dir") or EVALS / "runs")

    if run_now:
        bar = st.progress(0.0, text=tr("evals.running"))
        run = run_eval(progress=lambda stage, done, total: bar.progress(min(1.0, done / total) if total else 1.0,
                                                                       text=f"{stage} {done}/{total}"))
        bar.empty()
        path, _ = write_run(run, runs_dir)
        st.session_state[S + "evals.current"] = str(path)
    files = sorted(runs_dir.glob("*.json"), reverse=True) if runs_dir.is_dir() else []
    if not files:
        st.caption(tr("evals.none"))
        return
    names = [p.name for p in files]
    current = st.session_state.get(S + "evals.current")
    chosen = st.selectbox(tr("evals.pick"), names, index=names.index(Path(current).name) if current and Path(current).name in names else 0,
                          key=S + "evals.pick")
    run = json.loads((runs_dir / chosen).read_text(encoding="utf-8"))
    st.caption(f"{run['backend']} · {run['rules_version']} · {run['seconds']} s")
    usage = run.get("usage")
    if usage and "calls" in usage:
        cols = st.columns(5)
        cols[0].metric(tr("evals.calls"), f"{usage['calls']} ({usage.get('cached_calls', 0)} {tr('evals.cached')})")
        cols[1].metric(tr("evals.tokens"), f"{usage.get('tokens_in', 0)} / {usage.get('tokens_out', 0)}")
        cols[2].metric(tr("evals.cost"), f"${usage.get('cost_usd', 0):.4f}")
        cols[3].metric(tr("evals.latency"), f"{usage.get('per_case', {}).get('latency_ms', 0)} ms")
        cols[4].metric(tr("evals.errors"), usage.get("errors", 0))
    metrics = run["metrics"]
    cols = st.columns(4)
    for col, key in zip(cols, ("critic.recall", "critic.precision", "notice.violation", "draft.clean")):
        col.metric(key, f"{metrics.get(key, 0):.3f}")
    cats = sorted({k.split(".")[-1] for k in metrics if k.startswith("critic.recall.")})
    chart = pd.DataFrame({"recall": [metrics.get(f"critic.recall.{c}", 0) for c in cats],
                          "precision": [metrics.get(f"critic.precision.{c}", 0) for c in cats]}, index=cats)
    st.subheader(tr("evals.per_category"))
    st.bar_chart(chart)
    st.subheader(tr("evals.confusion"))
    confusion = run["notices"]["confusion"]
    labels = sorted(set(confusion) | {g for row in confusion.values() for g in row})
    st.dataframe(pd.DataFrame([[confusion.get(e, {}).get(g, 0) for g in labels] for e in labels], index=labels,
                              columns=labels), key=S + "evals.confusion")

    st.subheader(tr("evals.case"))
    letters = [item for path in sorted((EVALS / "critic").glob("*.toml")) for item in load_letters(path)]
    by_id = {item.id: item for item in letters}
    case_id = st.selectbox(tr("evals.case_pick"), list(by_id), key=S + "evals.case_id")
    item = by_id[case_id]
    expected = [Finding(category=lab.category, rule="label", severity="high", start=lab.start, end=lab.end,
                        quote=lab.quote, message="", suggestion="") for lab in item.labels]
    # A model-path run keeps each letter's findings; an offline run is the rules, which re-run in ms.
    kept = {row["id"]: row for row in run.get("critic", {}).get("cases", []) if "findings" in row}
    if case_id in kept:
        found = [Finding(category=f["category"], rule=f["rule"], severity=f["severity"], start=f["start"],
                         end=f["end"], quote=item.text[f["start"]:f["end"]], message="", suggestion="",
                         source=f.get("source", "rules"))
                 for f in kept[case_id]["findings"] if 0 <= f["start"] <= f["end"] <= len(item.text)]
    else:
        found = pipeline.critique(item.text).findings
    left, right = st.columns(2)
    left.markdown(f"**{tr('evals.expected')}** ({len(expected)})")
    left.html(highlight_html(item.text, expected))
    right.markdown(f"**{tr('evals.found')}** ({len(found)})")
    right.html(highlight_html(item.text, found))

    if len(names) > 1:
        st.subheader(tr("evals.compare"))
        other = st.selectbox(tr("evals.against"), [n for n in names if n != chosen], key=S + "evals.against")
        rows = compare(run, json.loads((runs_dir / other).read_text(encoding="utf-8")))
        moved = [r for r in rows if r["change"] != "same"]
        st.dataframe(pd.DataFrame(moved or rows), key=S + "evals.diff")


def main() -> None:
    # No emoji favicon: the first emoji check loads a large table and delays the first page by ~0.3 s.
    st.set_page_config(page_title="POA writer", layout="wide")
    if S + "restored" not in st.session_state:
        st.session_state[S + "restored"] = True
        wanted = st.query_params.get("case")
        if wanted:
            open_case(wanted)  # a refresh reopens the case in the address bar
    st.title(tr("app.title"))
    st.caption(tr("app.subtitle"))
    draft_box, critique_box, evals_box = st.tabs([tr("tab.draft"), tr("tab.critique"), tr("tab.evals")])
    with draft_box:
        draft_tab()
    with critique_box:
        critique_tab()
    with evals_box:
        evals_tab()
    # After the page: its widgets' scripts are fetched first, so the notice box comes sooner, and
    # the case list shows what this run saved.
    sidebar()
    warm_up()


main()
