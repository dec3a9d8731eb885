"""Deleting a row together with everything that hangs off it, found from the foreign keys.

Purging a survivor's case must remove screenings, plans, revisions, releases, travel plans and
whatever later packages attach to a case. Rather than a list each package must remember to
extend, this walks the schema's foreign keys from the row down and deletes the leaves first,
so a table added tomorrow with a foreign key to a case (or to anything of a case) is purged too.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Table, delete, select
from sqlmodel import Session, SQLModel


def _children(table: Table) -> list[tuple[Table, Any]]:
    found = []
    for child in SQLModel.metadata.sorted_tables:
        for fk in sorted(child.foreign_keys, key=lambda f: f.parent.name):
            if fk.column.table is table and child is not table:
                found.append((child, fk))
    return found


def _delete_below(session: Session, table: Table, condition: Any, counts: Counter[str],
                  path: tuple[str, ...]) -> None:
    for child, fk in _children(table):
        if child.name in path:  # a cycle in the schema: never recurse into it
            continue
        child_condition = fk.parent.in_(select(fk.column).where(condition))
        _delete_below(session, child, child_condition, counts, (*path, child.name))
        result = session.execute(delete(child).where(child_condition))
        counts[child.name] += int(result.rowcount)  # type: ignore[attr-defined]


def delete_with_dependents(session: Session, table_name: str, row_id: int) -> dict[str, int]:
    """Delete the row `row_id` of `table_name` and every row that depends on it (no commit)."""
    table = SQLModel.metadata.tables[table_name]
    (primary,) = table.primary_key.columns
    counts: Counter[str] = Counter()
    condition = primary == row_id
    _delete_below(session, table, condition, counts, (table.name,))
    result = session.execute(delete(table).where(condition))
    counts[table.name] += int(result.rowcount)  # type: ignore[attr-defined]
    return {name: n for name, n in sorted(counts.items()) if n}


def dependent_tables(table_name: str) -> list[str]:
    """Every table that hangs off `table_name` through foreign keys (for tests and docs)."""
    seen: list[str] = []

    def walk(table: Table, path: tuple[str, ...]) -> None:
        for child, _fk in _children(table):
            if child.name not in path and child.name not in seen:
                seen.append(child.name)
                walk(child, (*path, child.name))

    walk(SQLModel.metadata.tables[table_name], (table_name,))
    return seen
