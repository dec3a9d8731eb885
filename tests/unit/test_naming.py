"""One name per thing (issue 15): no class name is defined twice across the packages, and the
request and response models follow one suffix scheme (XCreate/XUpdate/XPublic for stored things,
XRequest/XResult for operations, plain nouns for what is nested), never In/Out/Response/Body.

Two classes with one name make a reader (and a grep) guess which is meant; the suffix families
side by side made the wire models look like three designs. These checks parse the source, so
they cost nothing and fail on the commit that brings a second name back.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "core", "logistics", "network", "safety_plans", "solvers", "fixtures")
# `LawBody` is a law-enforcement body (an agency), not a request body; `CheckIn` is a noun.
FORBIDDEN_SUFFIX = re.compile(r"(?<!Check)(In|Out|Response|Dto|Schema)$|(?<!Law)Body$")


def _classes() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, ast.ClassDef):
                    found[node.name].append(str(path.relative_to(ROOT)))
    return found


def test_no_class_name_is_defined_twice() -> None:
    twice = {name: paths for name, paths in _classes().items() if len(paths) > 1}
    assert twice == {}, f"class names defined more than once: {twice}"


def test_models_follow_one_suffix_scheme() -> None:
    wrong = sorted(name for name in _classes() if FORBIDDEN_SUFFIX.search(name)
                   and name != "SignedIn")  # a signed-in session, not an input model
    assert wrong == [], f"rename to XCreate/XUpdate/XPublic, XRequest/XResult or a noun: {wrong}"


def test_the_checks_see_a_wrong_name() -> None:
    # Spelled in two parts so that renaming the old models across the tree leaves these alone.
    assert FORBIDDEN_SUFFIX.search("Allocate" "In") and FORBIDDEN_SUFFIX.search("Leg" "Out")
    assert FORBIDDEN_SUFFIX.search("SearchResponse") and FORBIDDEN_SUFFIX.search("PlanBody")
    assert not FORBIDDEN_SUFFIX.search("TravelCheckIn") and not FORBIDDEN_SUFFIX.search("LawBody")
