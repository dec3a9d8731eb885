"""Pure edits of a plan by advocates, plan diffs, and proposals from a new screening.

Every function takes a :class:`~safety_plans.planning.Plan` and returns a new one, so the
storage layer can persist each result as a revision and keep the :class:`PlanDiff` between
revisions as "what changed". When a case is screened again, :func:`propose_update` compares the
current plan with a freshly generated one and returns the proposed changes without touching the
current plan; advocates accept some or all of them with :func:`apply_diff`. Advocate work is
respected: their own steps are never proposed for removal, steps they removed are not proposed
again, and steps they edited are not proposed to change back. A plan cannot be erased by
omission: a step is proposed for removal only when the new screening answered what triggered
it, and applying a diff needs the accepted step ids spelled out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from pydantic import BaseModel, ConfigDict

from safety_plans.errors import PlanEditError
from safety_plans.planning import Plan, Step, arrange
from safety_plans.rules import EMERGENCY_CONTACT_IDS, Priority, Section

CUSTOM_PREFIX = "custom."
_COMPARED = ("section", "priority", "message_id", "params", "text", "triggered_by")
_HEADER = ("emergency", "danger_level", "score", "emergency_triggers", "priorities")
_SEVERITY = frozenset({"emergency", "danger_level", "score", "emergency_triggers"})


class StepChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    step_id: str
    before: Step
    after: Step
    fields: tuple[str, ...]


class PlanDiff(BaseModel):
    """Differences from one plan to another; ``header`` maps a field to its new value."""

    model_config = ConfigDict(frozen=True)

    added: tuple[Step, ...] = ()
    removed: tuple[Step, ...] = ()
    changed: tuple[StepChange, ...] = ()
    order_changed: bool = False
    header: dict[str, object] = {}
    new_order: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.order_changed or self.header)

    @property
    def step_ids(self) -> tuple[str, ...]:
        """Every step id the diff touches, for accepting all or some of them."""
        ids = [s.id for s in self.added] + [s.id for s in self.removed]
        return tuple(ids + [c.step_id for c in self.changed])


def _require(plan: Plan, step_id: str) -> Step:
    step = plan.step(step_id)
    if step is None:
        raise PlanEditError("step_id", "no such step in this plan")
    return step


def _replace_steps(plan: Plan, steps: list[Step], **header: object) -> Plan:
    updated = plan.model_copy(update=header)
    return updated.model_copy(
        update={"steps": arrange(steps, updated.emergency, updated.priorities)}
    )


def edit_step(
    plan: Plan,
    step_id: str,
    *,
    text: str | None = None,
    priority: Priority | int | None = None,
) -> Plan:
    """Replace a step's wording with the advocate's text and/or change its priority."""
    step = _require(plan, step_id)
    update: dict[str, object] = {"edited": True}
    if text is not None:
        if not text.strip():
            raise PlanEditError("text", "must not be blank")
        update["text"] = text.strip()
    if priority is not None:
        try:
            update["priority"] = Priority(priority)
        except ValueError:
            raise PlanEditError("priority", "must be 1, 2 or 3") from None
    new = step.model_copy(update=update)
    return _replace_steps(plan, [new if s.id == step_id else s for s in plan.steps])


def next_custom_id(plan: Plan) -> str:
    """The next unused ``custom.<n>`` id; removed ids are never reused so diffs stay honest."""
    used = [*plan.step_ids, *plan.removed_step_ids]
    numbers = [int(i[len(CUSTOM_PREFIX) :]) for i in used if i.startswith(CUSTOM_PREFIX)]
    return f"{CUSTOM_PREFIX}{max(numbers, default=0) + 1}"


def add_step(
    plan: Plan,
    section: Section | str,
    text: str,
    *,
    priority: Priority | int = Priority.IMPORTANT,
    after: str | None = None,
) -> Plan:
    """Add an advocate's own step at the end of its section, or right after step ``after``."""
    if not text.strip():
        raise PlanEditError("text", "must not be blank")
    # The messages name the choices, never the value sent (it may be pasted personal text).
    try:
        sec = Section(section)
    except ValueError:
        raise PlanEditError("section", "must be one of: "
                            + ", ".join(s.value for s in Section)) from None
    try:
        prio = Priority(priority)
    except ValueError:
        raise PlanEditError("priority", "must be 1, 2 or 3") from None
    step = Step(
        id=next_custom_id(plan),
        section=sec,
        priority=prio,
        text=text.strip(),
        source="advocate",
    )
    steps = list(plan.steps)
    if after is not None:
        anchor = _require(plan, after)
        if anchor.section != sec:
            raise PlanEditError("after", f"that step is in section {anchor.section}")
        steps.insert(steps.index(anchor) + 1, step)
    else:
        last = max((n for n, s in enumerate(steps) if s.section == sec), default=len(steps) - 1)
        steps.insert(last + 1, step)
    return _replace_steps(plan, steps)


def remove_step(plan: Plan, step_id: str) -> Plan:
    """Remove a step; emergency contacts cannot be removed from an emergency-mode plan."""
    _require(plan, step_id)
    if plan.emergency and step_id in EMERGENCY_CONTACT_IDS:
        raise PlanEditError("step_id", "emergency contacts stay in an emergency-mode plan")
    steps = [s for s in plan.steps if s.id != step_id]
    removed = tuple(dict.fromkeys([*plan.removed_step_ids, step_id]))
    return _replace_steps(plan, steps, removed_step_ids=removed)


def diff_plans(old: Plan, new: Plan) -> PlanDiff:
    """Everything that differs between two plans, step by step."""
    old_by_id = {s.id: s for s in old.steps}
    new_by_id = {s.id: s for s in new.steps}
    changed = []
    for sid, before in old_by_id.items():
        after = new_by_id.get(sid)
        if after is None:
            continue
        fields = tuple(f for f in _COMPARED if getattr(before, f) != getattr(after, f))
        if fields:
            changed.append(StepChange(step_id=sid, before=before, after=after, fields=fields))
    common_old = [i for i in old.step_ids if i in new_by_id]
    common_new = [i for i in new.step_ids if i in old_by_id]
    return PlanDiff(
        added=tuple(s for s in new.steps if s.id not in old_by_id),
        removed=tuple(s for s in old.steps if s.id not in new_by_id),
        changed=tuple(changed),
        order_changed=common_old != common_new,
        header={f: getattr(new, f) for f in _HEADER if getattr(old, f) != getattr(new, f)},
        new_order=new.step_ids,
    )


def answered_away(step: Step, answers: Mapping[str, object] | None) -> bool:
    """Whether the new answers account for a step's disappearance.

    A step leaves only when every screening answer that triggered it was answered again (and
    so no longer triggers it). An unanswered question is unknown, never "no": a short follow-up
    screening must not erase what it did not ask about. Inputs (``input.*``) are not answers:
    an input proposal changes them on purpose. ``answers=None`` compares plans as they are.
    """
    if answers is None:
        return True
    return all(key in answers for key in step.triggered_by if not key.startswith("input."))


def propose_update(
    current: Plan, regenerated: Plan, *, answers: Mapping[str, object] | None = None
) -> PlanDiff:
    """Changes a new screening proposes to the current plan, sparing the advocate's work.

    With the new screening's ``answers``, a step is proposed for removal only if its triggers
    were answered (see :func:`answered_away`).
    """
    raw = diff_plans(current, regenerated)
    removed_before = set(current.removed_step_ids)
    header = dict(raw.header)
    if header.get("emergency") is False and answers is not None and any(
        key not in answers for key in current.emergency_triggers
    ):
        # Emergency mode ends only when what switched it on was answered again; a follow-up
        # that did not ask keeps the plan's severity as it is.
        header = {f: v for f, v in header.items() if f not in _SEVERITY}
    return raw.model_copy(
        update={
            "header": header,
            "added": tuple(s for s in raw.added if s.id not in removed_before),
            "removed": tuple(
                s for s in raw.removed
                if s.source == "rule" and not s.edited and answered_away(s, answers)
            ),
            "changed": tuple(c for c in raw.changed if not c.before.edited),
        }
    )


def apply_diff(
    plan: Plan,
    diff: PlanDiff,
    *,
    accept: Collection[str] | None = None,
    accept_header: bool = True,
) -> Plan:
    """Apply the accepted steps of a diff (and its header unless ``accept_header`` is False).

    ``accept`` must name the steps: None applies nothing and raises PlanEditError saying so,
    because applying "everything" by omission once deleted whole plans. Added steps land
    where the diff's target plan had them: right after the nearest preceding step that exists
    here, or at the end of their section.
    """
    if accept is None:
        raise PlanEditError(
            "accept",
            "nothing was applied: list the step ids to apply (the proposal's step_ids to take "
            "them all; an empty list applies only the header)",
        )
    wanted = set(accept)
    unknown = wanted - set(diff.step_ids)
    if unknown:
        raise PlanEditError("accept", f"not in this diff: {', '.join(sorted(unknown))}")
    header = dict(diff.header) if accept_header else {}
    gone = {s.id for s in diff.removed if s.id in wanted}
    if plan.emergency and header.get("emergency", True) and gone & set(EMERGENCY_CONTACT_IDS):
        raise PlanEditError("accept", "emergency contacts stay in an emergency-mode plan")
    replaced = {c.step_id: c.after for c in diff.changed if c.step_id in wanted}
    steps = [replaced.get(s.id, s) for s in plan.steps if s.id not in gone]
    for step in diff.added:
        if step.id not in wanted or any(s.id == step.id for s in steps):
            continue
        steps.insert(_insertion_point(steps, step, diff.new_order), step)
    return _replace_steps(plan, steps, **header)


def _insertion_point(steps: list[Step], step: Step, order: tuple[str, ...]) -> int:
    position = {s.id: n for n, s in enumerate(steps)}
    idx = order.index(step.id) if step.id in order else -1
    for previous in reversed(order[:idx] if idx >= 0 else ()):
        if previous in position and steps[position[previous]].section == step.section:
            return position[previous] + 1
    same = [n for n, s in enumerate(steps) if s.section == step.section]
    return same[0] if same else len(steps)
