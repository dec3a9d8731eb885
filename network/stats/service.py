"""Published statistics as releases of closed periods: publish, list, read, CSV, charts.

A platform admin publishes a period (`2026-03`, `2026-Q1`, `2026`); any account reads what
was published, exactly as it was stored: a release is never recomputed, so later data (a
case entered with an old date) cannot change it or be differenced against it. A month is
counted and suppressed (`counts.month_tables`); a quarter or year is derived from its stored
months (`releases.combine`), publishing any month not yet released first. A month may also
get differentially private tables (`noisy`), each publication spending part of the month's
privacy budget (`epsilon_budget`, from the settings), which is enforced here. See
docs/tips_and_stats.md.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, col, select

from core.clock import utcnow
from core.principal import Principal
from network.errors import (
    ChartNotFound,
    InvalidNetwork,
    PrivacyBudgetExceeded,
    StatsReleaseExists,
    StatsReleaseNotFound,
)
from network.stats import counts, noisy, releases
from network.stats.models import (
    ALL,
    Dimension,
    Measure,
    MeasureTable,
    NoisyPublic,
    NoisyTable,
    PrivacyBudget,
    ReleaseRequest,
    ReleaseSummary,
    ReleaseTable,
    StatsNoisy,
    StatsPublic,
    StatsRelease,
    StatsReleasePublic,
)
from network.stats.releases import Period, PeriodKind

NOTES = [
    *counts.NOTES[:2],
    "A tip that touches several states is counted once, in the row 'multiple' (not in each "
    "state), so every table adds up to its totals.",
    "A quarter or a year is the sum of its released months: a figure is published when it "
    "is published in every month, and 'x' (hidden, no promise) otherwise.",
    "contacts is tips plus cases figure by figure; it is published only where both are.",
]


def _period(text: str) -> Period:
    found = releases.parse_period(text)
    if found is None:
        raise InvalidNetwork("period", "a period is a month (2026-03), a quarter (2026-Q1) "
                             "or a year (2026)")
    return found


def _stored(session: Session, label: str) -> StatsRelease | None:
    return session.exec(select(StatsRelease).where(StatsRelease.period == label)).first()


def _month_parts(row: StatsRelease) -> releases.MonthTables:
    body = json.loads(row.body)
    return releases.MonthTables(
        month=row.period, states=body["states"], types=body["types"],
        measures={Measure(m): ReleaseTable.model_validate(t)
                  for m, t in body["measures"].items()})


def _store(session: Session, period: Period, states: list[str], types: list[str],
           tables: dict[Measure, ReleaseTable]) -> StatsRelease:
    body = {"states": states, "types": types,
            "measures": {m.value: t.model_dump() for m, t in tables.items()}}
    row = StatsRelease(period=period.label, kind=period.kind.value, body=json.dumps(body))
    session.add(row)
    session.flush()
    return row


def _window(period: Period) -> tuple[datetime, datetime]:
    start = datetime(period.first.year, period.first.month, 1, tzinfo=UTC)
    end = datetime(period.last.year, period.last.month, period.last.day, tzinfo=UTC)
    return start, end + timedelta(days=1)


def _month_row(session: Session, month: str) -> StatsRelease:
    """The stored month, counting and suppressing it first if it was never released."""
    row = _stored(session, month)
    if row is not None:
        return row
    period = _period(month)
    states, types, tables = counts.month_tables(counts.raw_counts(session, *_window(period)))
    return _store(session, period, states, types, tables)


def _publish_noisy(session: Session, period: Period, epsilon: float, budget: float) -> None:
    if not 0 < epsilon <= budget:
        raise InvalidNetwork("noisy_epsilon", f"epsilon is above 0 and at most {budget}")
    spent = _spent(session, period.label)
    if spent + epsilon > budget * (1 + 1e-9):
        raise PrivacyBudgetExceeded(f"{period.label} has spent {spent:g} of its budget "
                                    f"{budget:g}; {epsilon:g} more is refused")
    raw = counts.raw_counts(session, *_window(period))
    tables = {}
    for measure in noisy.NOISY_MEASURES:
        grid: Counter[tuple[str, str]] = Counter()
        for (_, state, kind, _), value in raw[measure].items():
            grid[(state, kind)] += value
        tables[measure] = noisy.table(grid, epsilon)
    public = NoisyPublic(label=noisy.LABEL, mechanism=noisy.MECHANISM, epsilon=epsilon,
                         measures=tables)
    session.add(StatsNoisy(period=period.label, epsilon=epsilon,
                           body=public.model_dump_json()))


def _spent(session: Session, month: str) -> float:
    rows = session.exec(select(StatsNoisy.epsilon).where(StatsNoisy.period == month)).all()
    return float(sum(rows))


def publish_release(session: Session, *, actor: Principal, data: ReleaseRequest,
                    epsilon_budget: float, today: date | None = None) -> StatsReleasePublic:
    """Publish a closed period (platform admins), or add noisy tables to a released month."""
    actor.require_platform_admin()
    period = _period(data.period)
    if not period.closed(today or utcnow().date()):
        raise InvalidNetwork("period", "only a period that has ended is released")
    if data.noisy_epsilon is not None and period.kind is not PeriodKind.MONTH:
        raise InvalidNetwork("noisy_epsilon", "noisy tables are published for months; a "
                             "quarter or a year sums its months'")
    existing = _stored(session, period.label)
    if existing is not None and data.noisy_epsilon is None:
        raise StatsReleaseExists(f"{period.label} was published at "
                                 f"{existing.published_at.isoformat()}")
    if existing is None:
        parts = [_month_parts(_month_row(session, m)) for m in period.months]
        if period.kind is not PeriodKind.MONTH:
            _store(session, period, *releases.combine(parts, list(Measure)))
    if data.noisy_epsilon is not None:
        _publish_noisy(session, period, data.noisy_epsilon, epsilon_budget)
    session.commit()
    return get_release(session, actor=actor, period=period.label,
                       epsilon_budget=epsilon_budget)


def list_releases(session: Session, *, actor: Principal) -> list[ReleaseSummary]:
    del actor  # every account may read published statistics
    noisy_periods = set(session.exec(select(StatsNoisy.period)).all())
    rows = session.exec(select(StatsRelease).order_by(col(StatsRelease.period))).all()
    return [ReleaseSummary(period=r.period, kind=r.kind, published_at=r.published_at,
                           noisy=r.period in noisy_periods
                           or all(m in noisy_periods for m in _period(r.period).months))
            for r in rows]


def _noisy(session: Session, period: Period) -> tuple[NoisyPublic | None, float]:
    """The period's noisy tables (a longer period sums the first of each month's) and the
    epsilon they spent per record."""
    firsts: list[NoisyPublic] = []
    spent = []
    for month in period.months:
        rows = session.exec(select(StatsNoisy).where(StatsNoisy.period == month)
                            .order_by(col(StatsNoisy.id))).all()
        if not rows:
            return None, 0.0
        firsts.append(NoisyPublic.model_validate_json(rows[0].body))
        spent.append(sum(r.epsilon for r in rows))
    if period.kind is PeriodKind.MONTH:
        return firsts[0], spent[0]
    tables: dict[Measure, NoisyTable] = {
        m: noisy.combine([f.measures[m] for f in firsts]) for m in noisy.NOISY_MEASURES}
    # Every record is in one month: the longer period spends what its worst month spent.
    return NoisyPublic(label=noisy.LABEL, mechanism=noisy.MECHANISM,
                       epsilon=max(f.epsilon for f in firsts), measures=tables), max(spent)


def get_release(session: Session, *, actor: Principal, period: str,
                epsilon_budget: float) -> StatsReleasePublic:
    """A published release exactly as stored (any account)."""
    del actor  # every account may read published statistics
    found = _period(period)
    row = _stored(session, found.label)
    if row is None:
        raise StatsReleaseNotFound(f"{found.label} is not released; see /v1/stats/releases")
    body = json.loads(row.body)
    noisy_public, spent = _noisy(session, found)
    return StatsReleasePublic(
        period=row.period, kind=row.kind, first_day=found.first, last_day=found.last,
        months=found.months, states=body["states"], trafficking_types=body["types"],
        measures={Measure(m): ReleaseTable.model_validate(t)
                  for m, t in body["measures"].items()},
        notes=NOTES,
        published_at=row.published_at, noisy=noisy_public,
        privacy=PrivacyBudget(epsilon_budget=epsilon_budget, epsilon_spent=spent))


def to_csv(release: StatsReleasePublic) -> str:
    """Long form: period, measure, state, trafficking_type, month, value ("all" in totals);
    noisy rows say so in the last column."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["period", "measure", "state", "trafficking_type", "month", "value",
                     "noisy"])
    p = release.period

    def rows(measure: Measure, table: ReleaseTable | NoisyTable, states: Sequence[str],
             types: Sequence[str], flag: str) -> None:
        for i, state in enumerate(states):
            for j, kind in enumerate(types):
                writer.writerow([p, measure.value, state, kind, ALL, table.cells[i][j], flag])
            writer.writerow([p, measure.value, state, ALL, ALL, table.by_state[i], flag])
        for j, kind in enumerate(types):
            writer.writerow([p, measure.value, ALL, kind, ALL, table.by_type[j], flag])
        for month, value in zip(release.months, table.by_month, strict=True):
            writer.writerow([p, measure.value, ALL, ALL, month, value, flag])
        writer.writerow([p, measure.value, ALL, ALL, ALL, table.total, flag])

    for measure, table in release.measures.items():
        rows(measure, table, release.states, release.trafficking_types, "")
    if release.noisy is not None:
        for measure, noisy_table in release.noisy.measures.items():
            rows(measure, noisy_table, noisy.states(), noisy.TYPES, "noisy")
    return out.getvalue()


def as_table(release: StatsReleasePublic, dim: Dimension) -> StatsPublic:
    """One dimension of a release (month or state) in the shape the charts draw."""
    rows = release.months if dim is Dimension.MONTH else release.states

    def one(table: ReleaseTable) -> MeasureTable:
        figures = table.by_month if dim is Dimension.MONTH else table.by_state
        return MeasureTable(cells=[[v] for v in figures], row_totals=None,
                            column_totals=None, total=table.total)

    return StatsPublic(group_by=[dim], date_from=release.first_day, date_to=release.last_day,
                       rows=rows, columns=None,
                       measures={m: one(t) for m, t in release.measures.items()},
                       notes=release.notes)


def get_chart(session: Session, *, actor: Principal, period: str, name: str, fmt: str,
              measures: Sequence[Measure], epsilon_budget: float) -> tuple[bytes, str]:
    """A chart of a published release (its suppressed figures only): (body, media type)."""
    from network.stats import charts
    if name not in charts.CHART_NAMES:
        raise ChartNotFound(f"charts: {', '.join(charts.CHART_NAMES)}")
    if fmt not in ("png", "svg"):
        raise InvalidNetwork("format", "format is png or svg")
    release = get_release(session, actor=actor, period=period, epsilon_budget=epsilon_budget)
    if name == "monthly_trends":
        canvas = charts.monthly_trends(as_table(release, Dimension.MONTH),
                                       list(measures) or list(Measure))
    else:
        if len(measures) > 1:
            raise InvalidNetwork("measure", "states_ranked draws one measure")
        canvas = charts.states_ranked(as_table(release, Dimension.STATE),
                                      measures[0] if measures else Measure.CASES)
    if fmt == "svg":
        return charts.to_svg(canvas).encode(), "image/svg+xml"
    return charts.to_png(canvas), "image/png"
