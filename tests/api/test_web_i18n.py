"""Every string the web pages show has a Spanish translation with the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

from api.web import advocate, common, coordinator

WEB = Path(common.__file__).resolve().parent
_CALL = re.compile(r'''_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')''')
_NOTICE = re.compile(r'\("(?:ok|error|conflict)",\s*((?:"[^"]*"\s*)+)')


def _msgids() -> set[str]:
    found: set[str] = set()
    for path in (WEB / "templates").glob("*.html"):
        for match in _CALL.finditer(path.read_text()):
            found.add(match.group(1) if match.group(1) is not None else match.group(2))
    for path in WEB.glob("*.py"):
        for match in _NOTICE.finditer(path.read_text()):
            found.add("".join(re.findall(r'"([^"]*)"', match.group(1))))
    found.update(coordinator.BED_LABELS.values())
    found.update(advocate.GROUPS.values())
    found.add(coordinator.STALE_MESSAGE)
    return found


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_is_translated_to_spanish() -> None:
    spanish = common.catalogue("es")
    ids = _msgids()
    assert len(ids) > 150
    missing = sorted(m for m in ids if m not in spanish)
    assert missing == []
    assert [m for m in ids if _fields(m) != _fields(spanish[m])] == []


def test_translator_fills_placeholders() -> None:
    assert common.translator("es")("{n} min ago", n=5) == "hace 5 min"
    assert common.translator("en")("{n} min ago", n=5) == "5 min ago"
