"""Benchmark of the safety-plan engine in every language: JSON and PDF p95, per script.

For random but reproducible screenings (with shelters, priorities and a travel link) it
times, in each shipped language, screening + plan generation + the JSON-ready dict +
``json.dumps`` (``--plans`` per language), and separately PDF rendering (``--pdfs`` per
language: fonts, shaping, line breaking, font subsetting). Each p95 is printed with its
ratio to English measured in the same run (the per-script cost: Noto fonts, HarfBuzz,
Thai and Chinese line breaks) and to a trivial baseline (``json.dumps`` of a small dict), so
figures from a slow shared machine can still be compared. Targets, every language: JSON p95
<= 20 ms, PDF p95 <= 300 ms. The bundled fonts are parsed, and each language's prepared font
subsets cut, before timing (``safety_plans.pdf_fonts.warm``), as a server process has after
its first PDF in that language. The load average is printed: the machine may be shared.

Run: ``.venv/bin/python bench/safety_plans.py [--plans 200] [--pdfs 30] [--seed 7]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from safety_plans import pdf_fonts
from safety_plans.i18n import available_languages
from safety_plans.languages import language_info
from safety_plans.pdf import render_pdf
from safety_plans.planning import PlanInputs, SuggestedShelter, generate_plan
from safety_plans.render import to_json
from safety_plans.rules import Section
from safety_plans.screening import ITEMS, ItemType

JSON_TARGET_MS = 20.0
PDF_TARGET_MS = 300.0


def random_case(rng: random.Random) -> tuple[dict[str, Any], PlanInputs]:
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
    return answers, inputs


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=200, help="JSON plans per language")
    parser.add_argument("--pdfs", type=int, default=30, help="PDFs per language")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cases = [random_case(rng) for _ in range(max(args.plans, args.pdfs))]
    small = {"id": 1, "language": "en", "steps": ["call 911"]}
    pdf_fonts.warm(available_languages())

    results: dict[str, tuple[float, float]] = {}
    for lang in available_languages():
        # Warm caches (catalogue, templates, tokenizer) so the first sample is no outlier.
        warm = generate_plan(*cases[0], language=lang)
        json.dumps(to_json(warm))
        render_pdf(warm)
        json_ms = [timed(lambda c=case, lg=lang: json.dumps(  # type: ignore[misc]
            to_json(generate_plan(*c, language=lg)), ensure_ascii=False))
            for case in cases[:args.plans]]
        plans = [generate_plan(*case, language=lang) for case in cases[:args.pdfs]]
        pdf_ms = [timed(lambda p=plan: render_pdf(p)) for plan in plans]  # type: ignore[misc]
        results[lang] = (p95(json_ms), p95(pdf_ms))

    base = p95([timed(lambda: json.dumps(small)) for _ in range(1000)])
    english_json, english_pdf = results["en"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"per language: {args.plans} JSON plans, {args.pdfs} PDFs; "
          f"baseline json.dumps(small dict) p95: {base * 1000:.1f} us; load average {load}")
    print(f"{'lang':5s} {'script':10s} {'JSON p95':>9s} {'x en':>6s} {'PDF p95':>9s} {'x en':>6s} "
          f"{'x base':>8s}  targets")
    ok = True
    for lang, (json_p95, pdf_p95) in results.items():
        fine = json_p95 <= JSON_TARGET_MS and pdf_p95 <= PDF_TARGET_MS
        ok &= fine
        print(f"{lang:5s} {language_info(lang).script:10s} {json_p95:7.2f}ms "
              f"{json_p95 / english_json:6.2f} {pdf_p95:7.1f}ms {pdf_p95 / english_pdf:6.2f} "
              f"{pdf_p95 / base:8,.0f}  {'ok' if fine else 'OVER TARGET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
