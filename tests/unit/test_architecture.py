"""The import rules of the house style, checked by parsing every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("core", "logistics", "safety_plans", "solvers", "api", "fixtures", "network")
SOLVER_ALLOWED_THIRD_PARTY = {"ortools", "networkx", "numpy"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _top(name: str) -> str:
    return name.split(".")[0]


def _violations(package: str, forbidden: set[str]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(package)
        for name in sorted(_imports(path))
        if _top(name) in forbidden
    ]


def test_solvers_import_only_stdlib_ortools_networkx_numpy() -> None:
    import sys

    bad = []
    for path in _modules("solvers"):
        for name in sorted(_imports(path)):
            top = _top(name)
            if top == "solvers" or top in sys.stdlib_module_names:
                continue
            if top not in SOLVER_ALLOWED_THIRD_PARTY:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert bad == []


def test_domain_packages_do_not_import_the_web_layer() -> None:
    bad = []
    for package in ("core", "logistics", "safety_plans", "network"):
        bad += _violations(package, {"api", "fastapi", "starlette", "fixtures", "uvicorn"})
    assert bad == []


def test_core_imports_no_domain_package() -> None:
    assert _violations("core", {"logistics", "safety_plans", "solvers", "network"}) == []


def test_logistics_does_not_import_safety_plans() -> None:
    assert _violations("logistics", {"safety_plans"}) == []


def test_network_imports_only_core_logistics_solvers() -> None:
    assert _violations("network", {"safety_plans", "api", "fixtures"}) == []
    assert _violations("logistics", {"network"}) == []


def test_only_the_cli_and_tests_import_fixtures() -> None:
    bad = []
    for package in PROJECT:
        for path in _modules(package):
            if package == "fixtures" or path == ROOT / "api" / "cli.py":
                continue
            bad += [f"{path.relative_to(ROOT)} imports {n}"
                    for n in _imports(path) if _top(n) == "fixtures"]
    assert bad == []


def test_nothing_outside_api_imports_fastapi() -> None:
    bad = []
    for package in ("core", "logistics", "safety_plans", "solvers", "fixtures", "network"):
        bad += _violations(package, {"fastapi", "starlette"})
    assert bad == []


def test_the_checker_sees_a_forbidden_edge(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import fastapi\nfrom api.deps import Services\n")
    assert {"fastapi", "api.deps"} <= _imports(bad)
