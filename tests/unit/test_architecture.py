"""The import rules of the house style, checked by parsing every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("core", "logistics", "safety_plans", "solvers", "api", "fixtures", "network",
           "delivery")
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
    for package in ("core", "logistics", "safety_plans", "network", "delivery"):
        bad += _violations(package, {"api", "fastapi", "starlette", "fixtures", "uvicorn"})
    assert bad == []


def test_core_imports_no_domain_package() -> None:
    assert _violations("core", {"logistics", "safety_plans", "network", "delivery"}) == []
    # The gazetteer measures with the solvers' one great circle; nothing else of the engines.
    solvers = [f"{p.relative_to(ROOT)} imports {n}" for p in _modules("core")
               for n in sorted(_imports(p)) if _top(n) == "solvers"]
    assert solvers == ["core/gazetteer.py imports solvers.geo"]


def test_logistics_does_not_import_safety_plans() -> None:
    assert _violations("logistics", {"safety_plans"}) == []


def test_network_imports_only_core_logistics_solvers() -> None:
    assert _violations("network", {"safety_plans", "api", "fixtures"}) == []
    assert _violations("logistics", {"network"}) == []


def test_delivery_sits_between_the_domains_and_core() -> None:
    # The outbox (issue 21) is called by logistics, network and safety_plans, so it imports
    # none of them: only core (and the solvers, through nothing today).
    assert _violations("delivery", {"logistics", "network", "safety_plans", "api",
                                    "fixtures", "solvers"}) == []


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
    for package in ("core", "logistics", "safety_plans", "solvers", "fixtures", "network",
                    "delivery"):
        bad += _violations(package, {"fastapi", "starlette"})
    assert bad == []


def test_the_checker_sees_a_forbidden_edge(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import fastapi\nfrom api.deps import Services\n")
    assert {"fastapi", "api.deps"} <= _imports(bad)


# The rooms of `logistics`, lowest first: each may import only the rooms before it (and the
# package's shared `errors` and `vocabulary`), so the capabilities form one chain.
LOGISTICS_ROOMS = ("shelters", "probes", "beds", "cases", "matching", "travel", "interop",
                   "return_plans")
# Modules that decide, never store: rules and readers that a unit test can call without a
# database. They must not import the ORM, the engine or the audit log.
PURE_RULES = (
    "logistics/vocabulary.py", "logistics/probes/rules.py", "logistics/shelters/schedule.py",
    "logistics/interop/hsds.py", "logistics/interop/hic.py", "logistics/travel/gtfs.py",
    "core/languages.py", "safety_plans/rules.py", "safety_plans/screening.py",
    "safety_plans/planning.py", "safety_plans/render.py", "safety_plans/sms.py",
    "network/stats/suppression.py", "network/tips/routing.py", "network/stats/charts.py",
    "delivery/signing.py",
)
STORAGE = {"sqlmodel", "sqlalchemy", "alembic", "psycopg", "core.db", "core.audit"}


def _room(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "logistics" and len(parts) > 2 else None


def test_logistics_rooms_import_only_rooms_before_them() -> None:
    assert sorted(p.name for p in (ROOT / "logistics").iterdir()
                  if p.is_dir() and (p / "__init__.py").exists()) == sorted(LOGISTICS_ROOMS)
    bad = []
    for rank, room in enumerate(LOGISTICS_ROOMS):
        allowed = set(LOGISTICS_ROOMS[: rank + 1])
        for path in _modules(f"logistics/{room}"):
            bad += [f"{path.relative_to(ROOT)} imports {n}" for n in sorted(_imports(path))
                    if (r := _room(n)) is not None and r not in allowed]
    for path in (ROOT / "logistics").glob("*.py"):  # the shared modules sit below every room
        bad += [f"{path.relative_to(ROOT)} imports {n}" for n in sorted(_imports(path))
                if _room(n) is not None]
    assert bad == []


def test_solver_packages_are_independent_and_never_import_their_own_front() -> None:
    bad = []
    for room, other in (("matching", "transit"), ("transit", "matching")):
        for path in _modules(f"solvers/{room}"):
            for n in sorted(_imports(path)):
                if n.startswith(f"solvers.{other}"):
                    bad.append(f"{path.relative_to(ROOT)} imports {n}")
                # a module importing its package's front (`__init__`) makes an import cycle
                if n == f"solvers.{room}" and path.name != "__init__.py":
                    bad.append(f"{path.relative_to(ROOT)} imports its front {n}")
    assert bad == []


def test_every_solver_module_imports_on_its_own() -> None:
    import importlib
    import subprocess
    import sys

    names = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in _modules("solvers")]
    names = [n.removesuffix(".__init__") for n in names]
    # each in a fresh interpreter, so an import order that only works after another module
    # was imported (the old matching <-> matching_batch cycle) fails here
    code = "import importlib, sys\nfor n in sys.argv[1:]:\n    importlib.import_module(n)\n"
    for name in names:
        done = subprocess.run([sys.executable, "-c", code, name], cwd=ROOT,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{name}: {done.stderr[-800:]}"
    assert importlib.import_module("solvers.matching").solve_batch is not None


def test_pure_rule_modules_do_not_touch_storage() -> None:
    bad = []
    for rel in PURE_RULES:
        path = ROOT / rel
        assert path.exists(), rel
        bad += [f"{rel} imports {n}" for n in sorted(_imports(path))
                if n in STORAGE or _top(n) in STORAGE]
    assert bad == []
