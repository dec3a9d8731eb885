"""Start-up costs people wait for: imports, CLI commands, a serving fleet, solver children.

Every figure is a fresh process, timed from outside with the median of `--runs` tries, and
printed with its ratio to the start of a bare interpreter (`python -c pass`) measured in the
same run, so a loaded machine shows in the baseline as much as in the figures. Timed:
- `import api.app` (what each worker pays) beside the floor of its libraries alone;
- `homeward --help` and `homeward users add` on a temporary SQLite database (target <= 1 s);
- `homeward serve --workers 2` from launch to the first 200 on /readyz (target <= 3 s);
- on one connection (so one worker), an itinerary search over the national network (Amtrak
  from ../shared/data when present, plus the synthetic bus and air network) sent the moment
  /readyz answers: what the first traveller after a start waits for. It used to build the
  worker's timetable itself, then to wait for the worker's background build (seconds); now
  the supervisor builds it before it forks the workers;
- how long the supervisor's build took (it logs it; nan for a checkout that does not build
  there), and from launch until both workers' background warm-ups are done (they log it);
- over HTTP on that server, a batch match of one household twice: the first pays for starting
  the solver's child process, the second is the steady state (its solve itself takes a few
  tens of milliseconds); then a second itinerary search. `--no-warm-wait` skips the wait for
  the warm-ups, for a checkout that has none.
Targets hold for an idle machine; under load read the ratios. To measure another checkout
with this script, put its root first on PYTHONPATH (the figures of main before issue 14 were
taken so, from `git archive` of main).

    .venv/bin/python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
HOMEWARD = str(BIN / "homeward")
PY = sys.executable
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LIBRARIES = "import fastapi, sqlmodel, uvicorn, pydantic, jinja2"
CASE = {"case_ref": "BENCH-1", "household": [{"age": 30, "gender": "female"}],
        "languages": ["en"], "location": {"lat": 38.8973, "lon": -77.0063}, "urgency": 3}


def _timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _median(runs: int, once: Callable[[int], float]) -> float:
    return statistics.median(once(i) for i in range(runs))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(env: dict[str, str], cwd: Path, token: str, warm_wait: bool) -> dict[str, float]:
    """Launch a two-worker server; time /readyz, then two one-household batch matches."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (cwd / f"serve-{port}.log").open("w")
    started = time.perf_counter()
    server = subprocess.Popen([HOMEWARD, "serve", "--port", str(port), "--workers", "2"],
                              env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    figures: dict[str, float] = {}
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError((cwd / f"serve-{port}.log").read_text())
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        figures["readyz"] = time.perf_counter() - started
        headers = {"Authorization": f"Bearer {token}"}
        depart = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        with httpx.Client(base_url=base, headers=headers, timeout=120) as http:

            def timed(name: str, path: str, body: Mapping[str, object]) -> None:
                t0 = time.perf_counter()
                answer = http.post(path, json=body)
                figures[name] = time.perf_counter() - t0
                if answer.status_code != 200:
                    figures[name] = float("nan")
                    print(f"  {name}: HTTP {answer.status_code} {answer.text[:200]}")

            search = {"from": {"city": "Washington", "state": "DC"},
                      "to": {"city": "Chicago", "state": "IL"}, "depart_after": depart}
            timed("itinerary_first", "/v1/itineraries/search", search)
            figures["warm"] = float("nan")
            if warm_wait:  # both workers log when their background warm-up is done
                while (cwd / f"serve-{port}.log").read_text().count('"timetable ready"') < 2:
                    if server.poll() is not None or time.perf_counter() - started > 300:
                        break
                    time.sleep(0.05)
                else:
                    figures["warm"] = time.perf_counter() - started
            timed("batch_first", "/v1/matches/batch", {"cases": [CASE]})
            timed("batch_second", "/v1/matches/batch", {"cases": [CASE]})
            timed("itinerary_second", "/v1/itineraries/search", search)
        figures["prebuild"] = _supervisor_build_s(cwd / f"serve-{port}.log", server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    return figures


def _supervisor_build_s(log: Path, supervisor: int) -> float:
    """Seconds the supervisor logged for its timetable: loading the calendar from the disk
    cache (or building it) plus expanding today's; nan if it logged neither."""
    total, seen = 0.0, False
    for line in log.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("message") in ("timetable built", "timetable calendar loaded",
                                     "timetable calendar built") \
                and record.get("pid") == supervisor:
            total += float(record["seconds"])
            seen = True
    return total if seen else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-warm-wait", action="store_true",
                        help="do not wait for the workers' background timetable build (for a "
                             "checkout without it, such as main before issue 14)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "HOMEWARD_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
               "HOMEWARD_LOG_LEVEL": "INFO"}
        env.pop("HOMEWARD_SECRET_KEY", None)  # the CLI creates var/secret.key under `work`
        runs = args.runs
        bare = _median(runs, lambda _: _timed([PY, "-c", "pass"], env, work))
        libs = _median(runs, lambda _: _timed([PY, "-c", LIBRARIES], env, work))
        app = _median(runs, lambda _: _timed([PY, "-c", "import api.app"], env, work))
        cli_help = _median(runs, lambda _: _timed([HOMEWARD, "--help"], env, work))
        _timed([HOMEWARD, "db", "upgrade"], env, work)
        if SHARED_DATA.exists():  # the national timetable (Amtrak + synthetic bus and air)
            subprocess.run([HOMEWARD, "transport", "load-national", "--data-dir",
                            str(SHARED_DATA)], env=env, cwd=work, check=True,
                           stdout=subprocess.DEVNULL)
        add = _median(runs, lambda i: _timed(
            [HOMEWARD, "users", "add", "--name", f"bench-{i}", "--role", "advocate"], env, work))
        token = subprocess.run([HOMEWARD, "users", "add", "--name", "bench-http", "--role",
                                "advocate"], env=env, cwd=work, check=True,
                               capture_output=True, text=True).stdout.strip().splitlines()[-1]
        served = [_serve(env, work, token, not args.no_warm_wait)
                  for _ in range(max(1, runs // 2))]

        def med(key: str) -> float:
            return statistics.median(s[key] for s in served)

        print(f"start-up, median of {runs} runs ({len(served)} for the server); "
              f"ratio to a bare `python -c pass` of {bare * 1000:.0f} ms in this run")
        rows = [
            ("python -c pass (baseline)", bare, ""),
            ("import fastapi, sqlmodel, uvicorn, ... (floor)", libs, ""),
            ("import api.app", app, ""),
            ("homeward --help", cli_help, "<= 1 s"),
            ("homeward users add (SQLite)", add, "<= 1 s"),
            ("homeward serve --workers 2 -> /readyz", med("readyz"), "<= 3 s"),
            ("  of which the supervisor's timetable build", med("prebuild"), ""),
            ("itinerary search sent at /readyz (national)", med("itinerary_first"), ""),
            ("launch -> both workers' warm-ups done", med("warm"), ""),
            ("batch match of 1 household, first", med("batch_first"), ""),
            ("batch match of 1 household, second", med("batch_second"), ""),
            ("itinerary search, later", med("itinerary_second"), ""),
        ]
        for name, seconds, target in rows:
            print(f"  {name:<44} {seconds:7.3f} s  x{seconds / bare:6.1f}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
