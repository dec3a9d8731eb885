"""Benchmark of the safety-plan engine: 1,000 generated plans, JSON and PDF p95.

For each of 1,000 random but reproducible screenings (with shelters, priorities and a travel
link) it times screening + plan generation + the JSON-ready dict + ``json.dumps``, and
separately PDF rendering. Each p95 is printed next to its ratio to a trivial baseline
(``json.dumps`` of a small dict) measured in the same run, so figures from a slow shared
machine can still be compared. Targets: JSON p95 <= 20 ms, PDF p95 <= 300 ms.

Run: ``.venv/bin/python bench/safety_plans.py [--plans 1000] [--seed 7]``
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from safety_plans.pdf import render_pdf
from safety_plans.planning import PlanInputs, SuggestedShelter, generate_plan
from safety_plans.render import to_json
from safety_plans.rules import Section
from safety_plans.screening import ITEMS, ItemType

JSON_TARGET_MS = 20.0
PDF_TARGET_MS = 300.0


def random_case(rng: random.Random) -> tuple[dict[str, Any], PlanInputs, str]:
    answers: dict[str, Any] = {}
    for item in ITEMS:
        if rng.random() < 0.3:
            continue
        if item.type is ItemType.BOOL:
            answers[item.key] = rng.random() < 0.35
        elif item.type is ItemType.INT:
            answers[item.key] = rng.randint(item.minimum, min(item.maximum, 60))
        else:
            answers[item.key] = rng.choice(item.choices)
    shelters = tuple(
        SuggestedShelter(
            id=f"s{n}",
            name=f"Shelter {n}",
            address=f"{n} Main St",
            phone="555-0100",
            open_beds=rng.randint(1, 9),
            distance_km=rng.uniform(0, 80),
        )
        for n in range(rng.randint(0, 3))
    )
    inputs = PlanInputs(
        shelters=shelters,
        travel_planner_url="https://homeward.example/trips/x" if rng.random() < 0.5 else None,
        priorities=tuple(rng.sample(list(Section), rng.randint(0, 3))),
        code_word="bluebird" if rng.random() < 0.5 else None,
    )
    return answers, inputs, rng.choice(["en", "es"])


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cases = [random_case(rng) for _ in range(args.plans)]
    small = {"id": 1, "language": "en", "steps": ["call 911"]}

    # Warm caches (catalogues, templates, pydantic) so the first sample is not an outlier.
    warm = generate_plan(*cases[0][:2], language=cases[0][2])
    json.dumps(to_json(warm))
    render_pdf(warm)

    baseline = [timed(lambda: json.dumps(small)) for _ in range(args.plans)]
    json_ms: list[float] = []
    pdf_ms: list[float] = []
    for answers, inputs, lang in cases:
        start = time.perf_counter()
        plan = generate_plan(answers, inputs, language=lang)
        json.dumps(to_json(plan), ensure_ascii=False)
        middle = time.perf_counter()
        render_pdf(plan)
        end = time.perf_counter()
        json_ms.append((middle - start) * 1000)
        pdf_ms.append((end - middle) * 1000)

    base = p95(baseline)
    rows = [
        ("JSON generation", p95(json_ms), JSON_TARGET_MS),
        ("PDF rendering", p95(pdf_ms), PDF_TARGET_MS),
    ]
    print(f"plans: {args.plans}  baseline json.dumps(small dict) p95: {base * 1000:.1f} us")
    ok = True
    for name, value, target in rows:
        verdict = "ok" if value <= target else "OVER TARGET"
        ok &= value <= target
        print(
            f"{name:16s} p95 {value:8.2f} ms  ({value / base:,.0f}x baseline)  "
            f"target <= {target:.0f} ms: {verdict}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
