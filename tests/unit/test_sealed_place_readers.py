"""Who may read a safe house's sealed exact point: one module, checked by reading the source.

Non-interference (README, "Safe houses under attack") rests on the matcher, search, plans,
exports and statistics never touching `Shelter.location_sealed`. The property test proves it
for the routes it drives; this test keeps it true for code not yet written: a new module that
reads the column (or imports the shelter's location field name to open it) fails here and
must be reviewed. Cases have a sealed location of their own, in their own modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "core", "fixtures", "logistics", "network", "safety_plans", "solvers")
# The table, the one use case that seals it and shows it to the shelter's staff, and the
# survivor case's own (different) sealed location.
ALLOWED = {"logistics/shelters/models.py", "logistics/shelters/service.py",
           "logistics/cases/models.py", "logistics/cases/service.py"}


def _reads_sealed_point(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ("location_sealed",
                                                             "LOCATION_FIELD"):
            return True
        if isinstance(node, ast.Constant) and node.value == "location_sealed":
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "logistics.shelters.service" and any(
                alias.name == "LOCATION_FIELD" for alias in node.names):
            return True
    return False


def test_only_the_shelter_use_case_reads_a_safe_house_exact_point() -> None:
    readers = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative:
                continue
            if _reads_sealed_point(path.read_text(encoding="utf-8")):
                readers.add(relative)
    assert readers <= ALLOWED, f"new readers of the sealed point: {sorted(readers - ALLOWED)}"
