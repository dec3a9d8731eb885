"""An attacker tries to recover every hidden cell of a published table, and never can.

For random one-way and two-way tables of small counts (so that many cells are 1 or 2), the
attacker knows every published figure and every equation tying cells to totals. With the
published figures on the right-hand side, the hidden cells satisfy `A_S x = b`; a hidden cell
is recovered exactly when its unit vector lies in the row space of `A_S` (rank test), which is
also when every least-squares solution agrees on it (null-space test). Neither may ever
succeed. A stronger attacker also uses what the marks say ("<3" is 1 or 2, a complement is 3
or more) and solves the two linear programs min and max of each hidden cell: they must differ.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.linear_solver import pywraplp

from network.stats import suppression
from network.stats.suppression import Layout, Mark

BIG = 1e6  # "no upper bound" (GLOP may call an unbounded ray infeasible)
counts = st.sampled_from([0, 0, 1, 1, 2, 2, 3, 4, 5, 7, 12, 40])


@st.composite
def tables(draw: st.DrawFn) -> Layout:
    if draw(st.booleans()):
        return suppression.one_way(draw(st.lists(counts, min_size=1, max_size=8)))
    rows = draw(st.integers(1, 5))
    cols = draw(st.integers(1, 6))
    grid = [[draw(counts) for _ in range(cols)] for _ in range(rows)]
    return suppression.two_way(grid)


def _attacker_system(layout: Layout, marks: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
    equations = layout.equations()
    hidden = np.flatnonzero(marks)
    shown = np.flatnonzero(marks == 0)
    rhs = -equations[:, shown] @ layout.values[shown].astype(float)
    return equations[:, hidden], rhs, hidden


def _bounds(layout: Layout, marks: np.ndarray, cell: int) -> tuple[float, float]:
    if marks[cell] == Mark.PRIMARY:
        return 1.0, 2.0
    if marks[cell] == Mark.COMPLEMENT:
        return 3.0, BIG
    return 0.0, BIG


def _range(layout: Layout, marks: np.ndarray, target: int) -> tuple[float, float]:
    a_s, rhs, hidden = _attacker_system(layout, marks)
    out = []
    for sense in (1, -1):
        solver = pywraplp.Solver.CreateSolver("GLOP")
        xs = [solver.NumVar(*_bounds(layout, marks, int(c)), f"x{c}") for c in hidden]
        for row, value in zip(a_s, rhs, strict=True):
            if not row.any():
                continue
            solver.Add(sum(float(coef) * x for coef, x in zip(row, xs, strict=True)
                           if coef) == float(value))
        position = int(np.flatnonzero(hidden == target)[0])
        solver.Minimize(sense * xs[position])
        status = solver.Solve()
        if status == pywraplp.Solver.UNBOUNDED:
            out.append(sense * float("inf"))
            continue
        assert status == pywraplp.Solver.OPTIMAL
        out.append(sense * solver.Objective().Value())
    return out[0], out[1]


@settings(max_examples=150, deadline=None)
@given(tables())
def test_no_hidden_cell_is_recovered_from_the_published_table(layout: Layout) -> None:
    marks = suppression.suppress(layout)
    values = layout.values
    shown = suppression.display(values, marks)
    # Every 1 or 2 is hidden, and the marks tell the truth.
    for value, mark, text in zip(values.tolist(), marks.tolist(), shown, strict=True):
        if 1 <= value <= 2:
            assert mark in (Mark.PRIMARY, Mark.WITHHELD)
        if mark == Mark.PRIMARY:
            assert text == "<3" and 1 <= value <= 2
        if mark == Mark.COMPLEMENT:
            assert text == "x" and value >= 3
    if not marks.any():
        return
    a_s, rhs, hidden = _attacker_system(layout, marks)
    # The true hidden values solve the attacker's system.
    assert np.allclose(a_s @ values[hidden].astype(float), rhs)
    rank = np.linalg.matrix_rank(a_s)
    solution, *_ = np.linalg.lstsq(a_s, rhs, rcond=None)
    _, sing, vt = np.linalg.svd(a_s)
    null = vt[int(np.count_nonzero(sing > 1e-9)):]
    for position, cell in enumerate(hidden.tolist()):
        unit = np.zeros(len(hidden))
        unit[position] = 1.0
        assert np.linalg.matrix_rank(np.vstack([a_s, unit])) == rank + 1, cell
        # Least squares finds one solution; a null-space step gives another that differs here.
        assert null.shape[0] > 0, cell
        step = null[int(np.argmax(np.abs(null[:, position])))]
        assert abs(step[position]) > 1e-9, cell
        other = solution + step / step[position]
        assert np.allclose(a_s @ other, rhs) and abs(other[position] - solution[position]) > 0.5
    # Every node (a total and its parts) that hides one figure hides at least two.
    for node in range(a_s.shape[0]):
        row = layout.equations()[node]
        touched = np.flatnonzero(row)
        assert np.count_nonzero(marks[touched]) != 1


@settings(max_examples=60, deadline=None)
@given(tables())
def test_the_bounds_of_the_marks_do_not_pin_a_hidden_cell(layout: Layout) -> None:
    marks = suppression.suppress(layout)
    assert all(suppression.protected(layout, marks))
    for cell in np.flatnonzero(marks).tolist():
        low, high = _range(layout, marks, cell)
        assert high - low >= 1 - 1e-6, (cell, low, high)
        if marks[cell] == Mark.PRIMARY:
            assert low <= 1 + 1e-6 and high >= 2 - 1e-6  # a reader cannot tell 1 from 2


def test_a_column_of_two_ones_is_withheld_not_shown_as_small() -> None:
    layout = suppression.two_way([[1, 9], [1, 8]])
    shown = suppression.display(layout.values, suppression.suppress(layout))
    assert shown[0] == "x" and shown[2] == "x"  # its total 2 would otherwise pin both at 1
    assert all(suppression.protected(layout, suppression.suppress(layout)))


def test_large_counts_are_published_as_they_are() -> None:
    layout = suppression.two_way([[10, 20], [30, 40]])
    assert suppression.display(layout.values, suppression.suppress(layout)) == [
        10, 20, 30, 40, 30, 70, 40, 60, 100]


def test_tables_without_cells_have_a_zero_total() -> None:
    for shape in ((0, 0), (0, 3), (2, 0)):
        layout = suppression.two_way(np.zeros(shape, dtype=np.int64))
        assert layout.values.tolist() == [0] * (shape[0] + shape[1] + 1)
        assert not suppression.suppress(layout).any()
    assert suppression.two_way([]).values.tolist() == [0]
