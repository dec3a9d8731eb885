"""Small-cell suppression for published count tables, primary and complementary (pure).

A published table is its interior cells plus the totals that sum them: a one-way table has
cells and a grand total; a two-way table has cells, row totals, column totals and a grand
total. Every cell, total or not, whose count is 1 or 2 is hidden and shown as "<3" (primary
suppression); zero is published, since it says nothing about anyone. Complementary
suppression then hides further non-zero cells, shown as "x" (each is 3 or more), until no
hidden cell can be recovered from what is published.

The test a hidden cell must pass is constructive and exact. Write the table with its totals
as an extended grid in which totals carry a minus sign (row r: cells - row total = 0; the
grand total closes the margins); then every change that keeps all published figures and all
equations true is a sum of *alternating cycles* through hidden cells: +1, -1, +1, ... around
rows and columns. A hidden cell is protected when one such cycle passes through it and keeps
every hidden cell within what a reader knows of it: a "<3" cell stays 1 or 2 (so the cycle
flips it between them) and an "x" cell stays 3 or more. That cycle is a second integer table,
equal to the real one in every published figure, in which the cell differs; so the cell is
not determined by the linear equations (its unit vector is outside the row space of the hidden
columns) nor by the bounds. One-way tables are the same with one row and one column node.

Cells failing the test get the cheapest cycle that also runs through published non-zero cells
(a shortest path: hidden cells cost nothing, an interior cell costs its count, a total costs
far more), and those published cells become complements. Cells on the new cycle are protected
by it, so one pass in cell order suffices. (This is Cox's network heuristic for two-way
tables, 1980, kept integer.) `tests/property/test_suppression_properties.py` attacks the
output with least squares and rank tests.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

THRESHOLD = 3
PRIMARY_MARK = "<3"
COMPLEMENT_MARK = "x"
_TOTAL_COST = 1_000_000_000  # a total is hidden only when no interior cell can do its job

IntArray = npt.NDArray[np.int64]
Marks = npt.NDArray[np.int8]


class Mark(IntEnum):
    PUBLISHED = 0
    PRIMARY = 1
    COMPLEMENT = 2
    WITHHELD = 3  # shown as "x" too; a reader may know only that it is not negative


@dataclass(frozen=True)
class Layout:
    """Every cell of a table (interior first, then totals) as an edge of the extended grid.

    Cell k joins row node `rows[k]` and column node `cols[k]` with `signs[k]` (+1 interior and
    grand total, -1 row and column totals); at every node the signed cells sum to zero.
    """

    values: IntArray
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    signs: tuple[int, ...]
    interior: int

    @property
    def nodes(self) -> tuple[int, int]:
        return max(self.rows) + 1, max(self.cols) + 1

    def equations(self) -> npt.NDArray[np.float64]:
        """One row per node: the signed sum of its cells is zero."""
        n_rows, n_cols = self.nodes
        matrix = np.zeros((n_rows + n_cols, len(self.values)), dtype=np.float64)
        for k, (r, c, sign) in enumerate(zip(self.rows, self.cols, self.signs, strict=True)):
            matrix[r, k] = sign
            matrix[n_rows + c, k] = sign
        return matrix


def one_way(counts: Sequence[int]) -> Layout:
    """Cells 0..n-1, then the grand total at index n."""
    n = len(counts)
    values = np.array([*counts, sum(counts)], dtype=np.int64)
    return Layout(values=values, rows=(0,) * (n + 1), cols=(0,) * (n + 1),
                  signs=(1,) * n + (-1,), interior=n)


def two_way(matrix: Sequence[Sequence[int]] | IntArray) -> Layout:
    """Cells row-major (r*C + c), then R row totals, C column totals, the grand total.

    Pass an array to keep the shape of a table with no rows (a list of no rows has lost how
    many columns it had); a table with no cells is just its grand total of 0.
    """
    grid = np.array(matrix, dtype=np.int64)
    if grid.ndim != 2:  # reshape cannot infer columns from an empty array
        grid = grid.reshape(len(matrix), -1) if grid.size else np.zeros((0, 0), np.int64)
    n_rows, n_cols = grid.shape
    values = np.concatenate([grid.ravel(), grid.sum(axis=1), grid.sum(axis=0),
                             [grid.sum()]]).astype(np.int64)
    rows = [r for r in range(n_rows) for _ in range(n_cols)]
    cols = [c for _ in range(n_rows) for c in range(n_cols)]
    rows += list(range(n_rows)) + [n_rows] * n_cols + [n_rows]
    cols += [n_cols] * n_rows + list(range(n_cols)) + [n_cols]
    signs = [1] * (n_rows * n_cols) + [-1] * (n_rows + n_cols) + [1]
    return Layout(values=values, rows=tuple(rows), cols=tuple(cols), signs=tuple(signs),
                  interior=n_rows * n_cols)


def _moves(value: int, mark: int) -> tuple[bool, bool]:
    """(may go up by one, may go down by one) within what a reader knows of the cell."""
    if mark == Mark.PRIMARY:
        return value < THRESHOLD - 1, value > 1
    if mark == Mark.WITHHELD:
        return True, value > 0
    if value < THRESHOLD:  # a published 0 can never be hidden (1-2 are always primary)
        return False, False
    return True, value > THRESHOLD


class _Graph:
    """Arcs of the extended grid: row -> column raises a cell's grid value, back lowers it.

    Arcs depend on counts and marks only through what a cell may do, which is the same for a
    published count of 3 or more and for that count hidden as a complement; so one graph
    serves a whole pass, with costs and the hidden-only arcs updated as cells are hidden.
    """

    def __init__(self, layout: Layout, marks: Marks) -> None:
        self.layout = layout
        n_rows, n_cols = layout.nodes
        self.offset = n_rows
        self.arcs: list[list[tuple[int, int]]] = [[] for _ in range(n_rows + n_cols)]
        self.hidden_arcs: list[list[tuple[int, int]]] = [[] for _ in range(n_rows + n_cols)]
        self.by_cell: list[list[tuple[int, int, int]]] = [[] for _ in layout.values]
        values = layout.values.tolist()
        hidden = marks.tolist()
        self.costs = [0 if hidden[k] else values[k] + (_TOTAL_COST if k >= layout.interior
                                                        else 0)
                      for k in range(len(values))]
        for k, (r, c, sign) in enumerate(zip(layout.rows, layout.cols, layout.signs,
                                             strict=True)):
            up, down = _moves(values[k], hidden[k])
            raise_grid, lower_grid = (up, down) if sign > 0 else (down, up)
            if raise_grid:
                self.by_cell[k].append((r, n_rows + c, k))
            if lower_grid:
                self.by_cell[k].append((n_rows + c, r, k))
            for tail, head, _ in self.by_cell[k]:
                self.arcs[tail].append((head, k))
                if hidden[k]:
                    self.hidden_arcs[tail].append((head, k))

    def hide(self, cell: int) -> None:
        self.costs[cell] = 0
        for tail, head, k in self.by_cell[cell]:
            self.hidden_arcs[tail].append((head, k))

    def _ends(self, cell: int, raise_grid: bool) -> tuple[int, int]:
        row = self.layout.rows[cell]
        col = self.offset + self.layout.cols[cell]
        return (col, row) if raise_grid else (row, col)

    def hidden_cycle(self, cell: int, raise_grid: bool) -> bool:
        """Whether a cycle through hidden cells only moves `cell` this way."""
        start, goal = self._ends(cell, raise_grid)
        seen = {start}
        stack = [start]
        while stack:
            node = stack.pop()
            for nxt, k in self.hidden_arcs[node]:
                if k == cell or nxt in seen:
                    continue
                if nxt == goal:
                    return True
                seen.add(nxt)
                stack.append(nxt)
        return False

    def cycle(self, cell: int, raise_grid: bool) -> tuple[int, list[int]] | None:
        """The cheapest cycle moving `cell` one way: (cost, its other cells), or None."""
        start, goal = self._ends(cell, raise_grid)
        costs = self.costs
        best = {start: 0}
        back: dict[int, tuple[int, int]] = {}
        queue = [(0, start)]
        while queue:
            dist, node = heapq.heappop(queue)
            if node == goal:
                path = []
                while node != start:
                    node, k = back[node]
                    path.append(k)
                return dist, path
            if dist > best[node]:
                continue
            for nxt, k in self.arcs[node]:
                if k == cell:
                    continue
                step = dist + costs[k]
                if step < best.get(nxt, step + 1):
                    best[nxt] = step
                    back[nxt] = (node, k)
                    heapq.heappush(queue, (step, nxt))
        return None


def _directions(layout: Layout, marks: Marks, cell: int) -> list[bool]:
    """Grid directions (raise?) in which the cell must be able to move to be protected."""
    up, down = _moves(int(layout.values[cell]), int(marks[cell]))
    wanted = []
    if up:
        wanted.append(layout.signs[cell] > 0)
    if down:
        wanted.append(layout.signs[cell] < 0)
    return wanted


def suppress(layout: Layout) -> Marks:
    """The mark of every cell: published, primary ("<3"), complementary or withheld ("x")."""
    values = layout.values
    marks = np.zeros(len(values), dtype=np.int8)
    marks[(values >= 1) & (values < THRESHOLD)] = Mark.PRIMARY
    if not marks.any():
        return marks
    for _ in range(3):
        exposed = _protect_pass(layout, marks)
        if not exposed:
            return marks
        # Bounds alone pin these (say a column of two 1s whose total is 2): no complement can
        # help while readers know each is 1 or 2, so they are shown "x", which promises nothing.
        marks[exposed] = Mark.WITHHELD
    marks[marks != Mark.PUBLISHED] = Mark.WITHHELD
    _protect_pass(layout, marks)
    return marks


def _protect_pass(layout: Layout, marks: Marks) -> list[int]:
    """Give every hidden cell a cycle; the cells nothing could protect. Cells protected once
    stay protected (hiding more only adds arcs), so one pass in cell order suffices."""
    graph = _Graph(layout, marks)
    exposed = []
    for cell in np.flatnonzero(marks).tolist():
        ways = _directions(layout, marks, cell)
        if any(graph.hidden_cycle(cell, way) for way in ways):
            continue
        options = [found for way in ways if (found := graph.cycle(cell, way)) is not None]
        if not options:
            exposed.append(cell)
            continue
        _, path = min(options, key=lambda found: found[0])
        for k in path:
            if not marks[k]:
                marks[k] = Mark.COMPLEMENT
                graph.hide(k)
    return exposed


def protected(layout: Layout, marks: Marks) -> list[bool]:
    """For every cell: published, or hidden with a cycle through hidden cells only."""
    graph = _Graph(layout, marks)
    return [not marks[cell] or any(graph.hidden_cycle(cell, way)
                                   for way in _directions(layout, marks, cell))
            for cell in range(len(layout.values))]


def display(values: IntArray, marks: Marks) -> list[int | str]:
    """What a reader sees for each cell."""
    shown: list[int | str] = []
    for value, mark in zip(values.tolist(), marks.tolist(), strict=True):
        if mark == Mark.PRIMARY:
            shown.append(PRIMARY_MARK)
        elif mark != Mark.PUBLISHED:
            shown.append(COMPLEMENT_MARK)
        else:
            shown.append(int(value))
    return shown
