"""Rendering a plan for people: a JSON-ready dict, printable HTML, PDF, plain text and SMS.

Every format starts from :func:`localize`, which resolves each step to text in the requested
language (an advocate's own wording wins over the catalogue) and groups it by section. The
discreet mode gives the document an innocuous title and a plain cover page (printed forms),
and resolves every string through its discreet wording (``<id>.discreet``) where the catalogue
has one, so the whole document speaks a neutral vocabulary: no trafficking, T visa, shelter or
hotline, no shelter names, no code word. The vocabulary is defined per language in the
catalogue, beside the language's give-away words (``discreet.giveaway_words``) that the tests
scan every discreet render for. An advocate's own wording is shown as written. SMS lists the
emergency contacts first and then the rest by priority, split by :mod:`safety_plans.sms`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from safety_plans.errors import RenderError
from safety_plans.i18n import has_message, resolve_language, translate
from safety_plans.languages import TranslationStatus, language_info, translation_status
from safety_plans.planning import Plan, Step
from safety_plans.rules import EMERGENCY_CONTACT_IDS
from safety_plans.sms import encoding_of, fold_to_gsm7, split_segments

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
FORMATS: dict[str, str] = {
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "txt": "text/plain; charset=utf-8",
    "sms": "application/json",
}
# A short form by default: six segments carry the essentials; an advocate may ask for up to 20.
DEFAULT_SMS_SEGMENTS = 6
MAX_SMS_SEGMENTS = 20
# Names that must never appear on the first page of a discreet rendering.
SENSITIVE_NAMES: tuple[str, ...] = (
    "National Human Trafficking Hotline",
    "Línea Directa Nacional contra la Trata de Personas",
    "Polaris",
    "Homeward",
)


@dataclass(frozen=True, slots=True)
class StepView:
    id: str
    text: str
    priority: int
    priority_label: str
    step: Step


@dataclass(frozen=True, slots=True)
class SectionView:
    id: str
    title: str
    steps: tuple[StepView, ...]


@dataclass(frozen=True, slots=True)
class PlanView:
    """A plan resolved to text in one language, ready for any template."""

    language: str
    discreet: bool
    title: str
    cover_note: str
    emergency_banner: str | None
    danger_text: str
    disclaimer: str
    sections: tuple[SectionView, ...]
    page_label: str
    translation: TranslationStatus
    # Shown on the document when the wording is a draft, has gaps or fell back to English:
    # the note in the plan's language, then the status in English for the advocate.
    translation_note: str | None
    direction: str = "ltr"

    @property
    def steps(self) -> tuple[StepView, ...]:
        return tuple(s for sec in self.sections for s in sec.steps)


@dataclass(frozen=True, slots=True)
class Rendered:
    media_type: str
    body: bytes


def wording(language: str, message_id: str, *, discreet: bool) -> str:
    """The message id to show: its discreet variant in discreet mode, when there is one."""
    if discreet and has_message(language, f"{message_id}.discreet"):
        return f"{message_id}.discreet"
    return message_id


def step_text(
    step: Step, language: str, *, discreet: bool = False, gender: str | None = None
) -> str:
    """A step's text: the advocate's wording, else its (discreet) catalogue message, in the
    ``gender`` variant ("feminine", "masculine") where the language has one."""
    if step.text is not None:
        return step.text
    if step.message_id is None:
        return step.id
    message_id = wording(language, step.message_id, discreet=discreet)
    return translate(language, message_id, step.params, context=gender)


def localize(
    plan: Plan,
    language: str | None = None,
    *,
    discreet: bool = False,
    allow_language_fallback: bool = False,
) -> PlanView:
    """Resolve every string of the plan in ``language`` (default: the plan's own language)."""
    requested = language or plan.language
    lang = resolve_language(requested, allow_fallback=allow_language_fallback)
    status = translation_status(lang, requested=requested)

    gender = plan.grammatical_gender

    def t(message_id: str, params: dict[str, str] | None = None) -> str:
        return translate(lang, wording(lang, message_id, discreet=discreet), params,
                         context=gender)

    labels = {p: t(f"priority.{p}") for p in (1, 2, 3)}
    sections = tuple(
        SectionView(
            id=str(section),
            title=t(f"section.{section}"),
            steps=tuple(
                StepView(
                    id=s.id,
                    text=step_text(s, lang, discreet=discreet, gender=gender),
                    priority=int(s.priority),
                    priority_label=labels[int(s.priority)],
                    step=s,
                )
                for s in steps
            ),
        )
        for section, steps in plan.sections()
    )
    level = t(f"level.{plan.danger_level}")
    return PlanView(
        language=lang,
        discreet=discreet,
        title=t("plan.title_discreet" if discreet else "plan.title"),
        cover_note=t("plan.discreet_cover"),
        emergency_banner=t("plan.emergency") if plan.emergency else None,
        danger_text=t("plan.danger_level", {"level": level}),
        disclaimer=t("plan.disclaimer"),
        sections=sections,
        page_label=t("plan.page", {"page": "{page}"}),
        translation=status,
        translation_note=(f"{t('plan.translation_note')} ({status.summary()})"
                          if status.needs_note else None),
        direction=language_info(lang).direction,
    )


def to_json(
    plan: Plan,
    language: str | None = None,
    *,
    discreet: bool = False,
    allow_language_fallback: bool = False,
) -> dict[str, Any]:
    """A JSON-ready dict: the plan's data plus every string resolved in ``language``."""
    view = localize(
        plan, language, discreet=discreet, allow_language_fallback=allow_language_fallback
    )
    return {
        "language": view.language,
        "translation_status": view.translation.as_dict(),
        "title": view.title,
        "emergency": plan.emergency,
        "danger_level": str(plan.danger_level),
        "danger_text": view.danger_text,
        "score": plan.score,
        "emergency_triggers": list(plan.emergency_triggers),
        "priorities": [str(p) for p in plan.priorities],
        "disclaimer": view.disclaimer,
        "removed_step_ids": list(plan.removed_step_ids),
        "sections": [
            {
                "id": sec.id,
                "title": sec.title,
                "steps": [
                    {
                        "id": v.id,
                        "text": v.text,
                        "priority": v.priority,
                        "triggered_by": list(v.step.triggered_by),
                        "source": v.step.source,
                        "edited": v.step.edited,
                        "message_id": v.step.message_id,
                        "params": dict(v.step.params),
                    }
                    for v in sec.steps
                ],
            }
            for sec in view.sections
        ],
    }


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(plan: Plan, language: str | None = None, *, discreet: bool = False) -> str:
    """A self-contained HTML page styled for printing on Letter or A4."""
    view = localize(plan, language, discreet=discreet)
    return _environment().get_template("plan.html").render(view=view)


def render_text(plan: Plan, language: str | None = None, *, discreet: bool = False) -> str:
    """Plain text; in discreet mode the cover ends with a form feed (a page break on print)."""
    view = localize(plan, language, discreet=discreet)
    lines = [view.title, "=" * len(view.title), ""]
    if discreet:
        lines += [view.cover_note, "\f"]
    if view.translation_note:
        lines += [view.translation_note, ""]
    if view.emergency_banner:
        lines += [view.emergency_banner, ""]
    lines += [view.danger_text, ""]
    for sec in view.sections:
        lines += [sec.title, "-" * len(sec.title)]
        lines += [f"* [{s.priority_label}] {s.text}" for s in sec.steps]
        lines.append("")
    lines.append(view.disclaimer)
    return "\n".join(lines) + "\n"


def sms_order(steps: Iterable[StepView]) -> list[StepView]:
    """Emergency contacts first, then the plan's next action, then the rest by priority.

    The next action is the plan's first step that is not a contact: the top of the section
    that matters most now (immediate safety in an emergency, else the survivor's own first
    priority). Plan order breaks ties.
    """
    indexed = list(enumerate(steps))
    contact_rank = {sid: n for n, sid in enumerate(EMERGENCY_CONTACT_IDS)}
    next_action = next((i for i, v in indexed if v.id not in contact_rank), None)

    def key(item: tuple[int, StepView]) -> tuple[int, int, int]:
        index, view = item
        if view.id in contact_rank:
            return (0, contact_rank[view.id], index)
        if index == next_action:
            return (1, 0, index)
        return (2, view.priority, index)

    return [v for _, v in sorted(indexed, key=key)]


def render_sms(
    plan: Plan,
    language: str | None = None,
    *,
    discreet: bool = False,
    max_segments: int = DEFAULT_SMS_SEGMENTS,
) -> list[str]:
    """The plan as a short run of standalone SMS segments, most urgent first.

    The emergency contacts (911, the hotline's number and its text line) and the next action
    are always sent, even beyond ``max_segments``; the other steps follow by priority while
    they fit, a step that does not fit is left out whole (a shorter later one may still fit),
    and a closing line says the advocate has the rest.
    """
    if not 1 <= max_segments <= MAX_SMS_SEGMENTS:
        raise RenderError("max_segments", f"must be between 1 and {MAX_SMS_SEGMENTS}")
    view = localize(plan, language, discreet=discreet)
    header = translate(view.language, "sms.header_discreet" if discreet else "sms.header")
    more = translate(view.language, "sms.more")
    ordered = sms_order(view.steps)
    essential = sum(1 for v in ordered if v.id in EMERGENCY_CONTACT_IDS) + 1
    kept = ordered[:essential]
    for view_step in ordered[essential:]:
        trial = [*kept, view_step]
        if len(split_segments(_sms_lines(header, trial, more))) <= max_segments:
            kept = trial
    return split_segments(_sms_lines(header, kept, None if kept == ordered else more))


def _sms_lines(header: str, steps: Iterable[StepView], more: str | None) -> list[str]:
    """The lines of an SMS, each folded to GSM-7 where look-alikes suffice (160 vs 70)."""
    lines = [header, *(f"- {v.text}" for v in steps), *((more,) if more else ())]
    return [fold_to_gsm7(line) for line in lines]


def render(
    plan: Plan,
    fmt: str,
    language: str | None = None,
    *,
    discreet: bool = False,
    max_sms_segments: int = DEFAULT_SMS_SEGMENTS,
) -> Rendered:
    """One entry point for the HTTP layer: ``fmt`` is json, html, pdf, txt or sms."""
    if fmt not in FORMATS:
        raise RenderError("format", f"unknown format; use one of {', '.join(FORMATS)}")
    media_type = FORMATS[fmt]
    if fmt == "json":
        body = json.dumps(to_json(plan, language, discreet=discreet), ensure_ascii=False)
        return Rendered(media_type, body.encode("utf-8"))
    if fmt == "html":
        return Rendered(media_type, render_html(plan, language, discreet=discreet).encode())
    if fmt == "txt":
        return Rendered(media_type, render_text(plan, language, discreet=discreet).encode())
    if fmt == "sms":
        segments = render_sms(plan, language, discreet=discreet, max_segments=max_sms_segments)
        payload = {"segments": [{"text": s, "encoding": encoding_of(s)} for s in segments]}
        return Rendered(media_type, json.dumps(payload, ensure_ascii=False).encode("utf-8"))
    from safety_plans.pdf import render_pdf

    return Rendered(media_type, render_pdf(plan, language, discreet=discreet))
