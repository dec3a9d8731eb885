"""Line breaks where each script allows them: Thai between words, Chinese between ideographs
but never before a closing mark nor after an opening one, everything else at spaces."""

# ruff: noqa: RUF001
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from safety_plans.linebreak import ZWSP, break_cjk, strip_marks, with_break_opportunities, wrap


def test_thai_breaks_between_words_not_inside_them() -> None:
    marked = with_break_opportunities("ถ้าคุณอยู่ในอันตรายตอนนี้ ให้โทร 911", "thai")
    assert marked.split(ZWSP)[:3] == ["ถ้า", "คุณ", "อยู่"]
    assert "อัน\u200bตราย" not in marked and "อันตราย" in marked
    assert strip_marks(marked) == "ถ้าคุณอยู่ในอันตรายตอนนี้ ให้โทร 911"


def test_chinese_breaks_between_ideographs_but_respects_punctuation() -> None:
    marked = break_cjk("请拨打热线，全年无休（每天）。")
    assert marked.startswith("请\u200b拨\u200b打")
    assert "\u200b，" not in marked and "\u200b。" not in marked and "\u200b）" not in marked
    assert "（\u200b" not in marked
    assert strip_marks(marked) == "请拨打热线，全年无休（每天）。"


def test_latin_and_korean_text_is_left_alone() -> None:
    for text, script in (("Call 911 now.", "latin"), ("지금 911에 전화하십시오.", "hangul")):
        assert with_break_opportunities(text, script) == text


def test_wrap_fills_lines_and_never_splits_a_thai_word() -> None:
    marked = with_break_opportunities("คำตอบของคุณแสดงสัญญาณของอันตรายร้ายแรง", "thai")
    lines = wrap(marked, 8, len)
    assert "".join(lines) == strip_marks(marked)
    assert all(len(line) <= 8 for line in lines)
    assert "อันตราย" in lines  # whole, on a line of its own rather than cut
    # Only a word wider than a whole line is cut.
    assert wrap("อันตราย", 4, len) == ["อันต", "ราย"]


@given(st.lists(st.text(alphabet="abcdefg", min_size=1, max_size=8), min_size=1, max_size=30),
       st.integers(min_value=8, max_value=40))
def test_wrap_keeps_every_word_and_respects_the_width(words: list[str], width: int) -> None:
    text = " ".join(words)
    lines = wrap(text, width, len)
    assert " ".join(lines).split() == words
    assert all(len(line) <= width for line in lines)
