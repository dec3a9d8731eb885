"""Writer turns: one writer at a time across threads and processes, handed on without sleeps.

Two `WriterTurns` on one file stand for two processes: their flocks are on separate open
files, so they exclude each other exactly as two processes' would.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from core.writer_turns import WriterTurns
from tests.support import wait_for


def test_one_turn_at_a_time_across_processes(tmp_path: Path) -> None:
    first = WriterTurns(tmp_path / "db-writers", timeout_s=5)
    second = WriterTurns(tmp_path / "db-writers", timeout_s=5)
    inside: list[int] = []
    overlaps: list[int] = []

    def writer(turns: WriterTurns, n: int) -> None:
        for _ in range(n):
            assert turns.take()
            inside.append(1)
            if len(inside) > 1:
                overlaps.append(len(inside))
            time.sleep(0.0005)
            inside.pop()
            turns.give_back()

    threads = [threading.Thread(target=writer, args=(turns, 40))
               for turns in (first, second) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []
    first.close()
    second.close()


def test_a_waiter_gets_the_turn_when_it_is_given_back(tmp_path: Path) -> None:
    holder = WriterTurns(tmp_path / "db-writers", timeout_s=5)
    waiter = WriterTurns(tmp_path / "db-writers", timeout_s=5)
    assert holder.take()
    got: list[bool] = []
    thread = threading.Thread(target=lambda: got.append(waiter.take()))
    thread.start()
    thread.join(timeout=0.2)
    assert thread.is_alive() and got == []  # still waiting while the holder writes
    holder.give_back()
    wait_for(lambda: not thread.is_alive(), what="the waiter's turn")
    assert got == [True]
    waiter.give_back()
    holder.close()
    waiter.close()


def test_a_wait_that_times_out_says_so_and_leaves_no_turn_behind(tmp_path: Path) -> None:
    holder = WriterTurns(tmp_path / "db-writers", timeout_s=5)
    impatient = WriterTurns(tmp_path / "db-writers", timeout_s=0.1)
    assert holder.take()
    assert impatient.take() is False  # the caller goes on to SQLite's own busy timeout
    holder.give_back()
    # The abandoned wait is undone by the helper once the lock is free: the next writer of
    # that process, and then the other process, each get a turn.
    wait_for(impatient.take, what="the next turn", poll_s=0)
    impatient.give_back()
    assert holder.take()
    holder.give_back()
    holder.close()
    impatient.close()


def test_threads_of_one_process_wait_on_each_other(tmp_path: Path) -> None:
    turns = WriterTurns(tmp_path / "db-writers", timeout_s=0.1)
    assert turns.take()
    results: list[bool] = []
    thread = threading.Thread(target=lambda: results.append(turns.take()))
    thread.start()
    thread.join()
    assert results == [False]
    turns.give_back()
    assert turns.take()
    turns.give_back()
    turns.close()


def test_closing_twice_is_harmless_and_a_closed_queue_reopens(tmp_path: Path) -> None:
    turns = WriterTurns(tmp_path / "db-writers", timeout_s=1)
    turns.close()
    turns.close()
    assert turns.take()  # an engine used again after dispose() writes as before
    turns.give_back()
    turns.close()
