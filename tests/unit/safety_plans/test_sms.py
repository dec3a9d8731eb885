"""SMS arithmetic and segmentation: GSM-7 with its extension table, UCS-2, counters."""

from __future__ import annotations

import pytest

from safety_plans.planning import generate_plan
from safety_plans.render import render_sms
from safety_plans.rules import EMERGENCY_CONTACT_IDS
from safety_plans.sms import (
    GSM7_LIMIT,
    UCS2_LIMIT,
    encoding_of,
    fits,
    gsm7_septets,
    split_segments,
    ucs2_units,
)

from .cases import IMMEDIATE_DANGER, LABOR_INPUTS, LABOR_PASSPORT


def segment_cost_ok(segment: str) -> bool:
    septets = gsm7_septets(segment)
    return septets <= GSM7_LIMIT if septets is not None else ucs2_units(segment) <= UCS2_LIMIT


@pytest.mark.parametrize(
    ("text", "septets"),
    [
        ("Call 911", 8),
        ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", 42),
        ("€", 2),
        ("[a]", 5),
        ("^{}\\[~]|€", 18),
        ("line\nbreak", 10),
    ],
)
def test_gsm7_septet_counts(text: str, septets: int) -> None:
    assert gsm7_septets(text) == septets
    assert encoding_of(text) == "GSM-7"


@pytest.mark.parametrize("text", ["á", "Línea", "«hola»", "“quoted”", "東京", "ç", "🙂"])
def test_non_gsm_characters_need_ucs2(text: str) -> None:
    assert gsm7_septets(text) is None
    assert encoding_of(text) == "UCS-2"


def test_ucs2_counts_surrogate_pairs_twice() -> None:
    assert ucs2_units("ab") == 2
    assert ucs2_units("🙂") == 2


def test_exact_limits() -> None:
    assert fits("a" * 160) and not fits("a" * 161)
    assert fits("€" * 80) and not fits("a" + "€" * 80)
    assert fits("á" * 70) and not fits("á" * 71)
    assert fits("a" * 150, reserve=10) and not fits("a" * 151, reserve=10)


def test_gsm_segments_hold_160_septets_and_extension_chars_count_two() -> None:
    segments = split_segments(["x" * 400], numbered=False)
    assert [len(s) for s in segments] == [160, 160, 80]
    braces = split_segments(["{" * 100], numbered=False)
    assert [gsm7_septets(s) for s in braces] == [160, 40]


def test_ucs2_segments_hold_70_units() -> None:
    segments = split_segments(["ñá" * 50], numbered=False)
    assert [ucs2_units(s) for s in segments] == [70, 30]
    assert all(encoding_of(s) == "UCS-2" for s in segments)


def test_units_split_at_word_boundaries_and_are_kept_in_order() -> None:
    words = [f"w{n:03d}" for n in range(120)]
    segments = split_segments([" ".join(words)])
    assert all(segment_cost_ok(s) for s in segments)
    rebuilt = " ".join(s.split(") ", 1)[1] for s in segments).split()
    assert rebuilt == words


def test_counters_are_added_only_to_multipart_messages() -> None:
    assert split_segments(["short"]) == ["short"]
    segments = split_segments(["a " * 200])
    assert segments[0].startswith(f"(1/{len(segments)}) ")
    assert all(segment_cost_ok(s) for s in segments)


def test_encoding_is_chosen_per_segment() -> None:
    segments = split_segments(["plain ascii text " * 9, "ñandú " * 12], numbered=False)
    encodings = [encoding_of(s) for s in segments]
    assert encodings[0] == "GSM-7" and "UCS-2" in encodings


@pytest.mark.parametrize("language", ["en", "es"])
def test_plan_sms_is_within_limits_and_most_urgent_first(language: str) -> None:
    plan = generate_plan(IMMEDIATE_DANGER, language=language)
    segments = render_sms(plan)
    assert all(segment_cost_ok(s) for s in segments)
    joined = "\n".join(segments)
    assert joined.index("911") < joined.index("1-888-373-7888") < joined.index("233733")
    first_step = next(
        line for line in joined.split("\n") if line.lstrip("(/0123456789) ").startswith("- ")
    )
    assert "911" in first_step


def test_max_segments_drops_least_urgent_but_keeps_contacts() -> None:
    plan = generate_plan(LABOR_PASSPORT, LABOR_INPUTS)
    full = render_sms(plan, max_segments=20)
    short = render_sms(plan, max_segments=5)
    assert len(short) <= 5 < len(full)
    joined = "\n".join(short)
    assert "911" in joined and "1-888-373-7888" in joined and "233733" in joined
    tiny = render_sms(plan, max_segments=1)
    assert len(tiny) >= 1 and "233733" in "\n".join(tiny)
    assert len(EMERGENCY_CONTACT_IDS) == 3


def test_discreet_sms_names_no_hotline() -> None:
    plan = generate_plan(IMMEDIATE_DANGER)
    joined = "\n".join(render_sms(plan, discreet=True))
    assert "Trafficking Hotline" not in joined and "safety plan" not in joined.lower()
    assert "1-888-373-7888" in joined
