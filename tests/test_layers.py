"""The layering rule of issue 13: which package may import which.

Every module of the product (and of bench/) is parsed with `ast`; every import it makes
(module level, inside functions, under TYPE_CHECKING, relative ones resolved, and
`importlib.import_module("...")` with a literal name) is checked against LAYERS below.
A unit may import itself and the units listed for it, nothing else of the project;
nothing but tests/ may import tests/.  Third-party imports are not checked.

LAYERS is written once, here, and mirrored in the fenced block of docs/architecture.md
that follows the `layers:` marker; a test keeps the two equal.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARCHITECTURE_DOC = REPO / "docs" / "architecture.md"

# unit -> the units it may import (besides itself).  Bottom first.  A unit is a top-level
# package or a crawler subpackage; a module belongs to the longest unit name that prefixes it.
LAYERS: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "parsers": frozenset({"core"}),
    "enrich": frozenset({"core"}),
    "index": frozenset({"core"}),
    "testbed": frozenset({"core"}),
    "crawler": frozenset(),  # crawler/__init__.py only: code lives in the subpackages
    "crawler.net": frozenset({"core"}),
    "crawler.sitedef": frozenset({"core", "parsers"}),
    "crawler.evidence": frozenset({"core", "index"}),
    "pipeline": frozenset({"core", "parsers", "enrich", "index", "crawler.sitedef", "crawler.evidence"}),
    "crawler.engine": frozenset({"core", "parsers", "enrich", "index", "pipeline", "crawler",
                                 "crawler.sitedef", "crawler.net", "crawler.evidence"}),
    "dashboards": frozenset({"core", "parsers", "enrich", "index", "testbed", "pipeline", "crawler",
                             "crawler.sitedef", "crawler.net", "crawler.evidence", "crawler.engine"}),
    "trawl": frozenset({"core", "parsers", "enrich", "index", "testbed", "pipeline", "crawler",
                        "crawler.sitedef", "crawler.net", "crawler.evidence", "crawler.engine", "dashboards"}),
    "bench": frozenset({"core", "parsers", "enrich", "index", "testbed", "pipeline", "crawler",
                        "crawler.sitedef", "crawler.net", "crawler.evidence", "crawler.engine", "dashboards",
                        "trawl"}),
}
# imported by nothing outside itself
TESTS_UNIT = "tests"

# Edges allowed for a while although they break LAYERS (importer module -> imported modules).
# The test fails on a violation missing here AND on an entry here that no longer occurs, so
# the list can only shrink. Empty since issue 13: keep it that way.
PENDING: dict[str, frozenset[str]] = {}


@dataclass(frozen=True)
class Violation:
    path: str  # relative to the scanned root
    line: int
    importer: str
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} → {self.imported}: {self.rule}"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit_of(module: str, layers: Mapping[str, object]) -> str | None:
    """The longest unit name equal to `module` or a dotted prefix of it."""
    best: str | None = None
    for unit in [*layers, TESTS_UNIT]:
        if (module == unit or module.startswith(unit + ".")) and (best is None or len(unit) > len(best)):
            best = unit
    return best


def _literal_import_module(node: ast.Call) -> str | None:
    """The name in `importlib.import_module("x.y")` / `import_module("x.y")` / `__import__("x")`."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name not in {"import_module", "__import__"} or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def imports_of(root: Path, path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in the file, wherever it is."""
    module = module_name(root, path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".") if package else []
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                # `from pkg import sub` imports the module pkg.sub when there is one
                candidate = f"{base}.{alias.name}" if base else alias.name
                rel = Path(*candidate.split("."))
                is_module = (root / rel).with_suffix(".py").is_file() or (root / rel / "__init__.py").is_file()
                yield node.lineno, candidate if is_module else base
        elif isinstance(node, ast.Call):
            name = _literal_import_module(node)
            if name:
                yield node.lineno, name


def product_files(root: Path, layers: Mapping[str, object]) -> Iterator[Path]:
    tops = {unit.split(".")[0] for unit in layers}
    for top in sorted(tops):
        base = root / top
        if base.is_dir():
            yield from sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts)


def find_violations(root: Path, layers: Mapping[str, frozenset[str]]) -> list[Violation]:
    project_tops = {unit.split(".")[0] for unit in layers} | {TESTS_UNIT}
    found: list[Violation] = []
    for path in product_files(root, layers):
        importer = module_name(root, path)
        rel = str(path.relative_to(root))
        importer_unit = unit_of(importer, layers)
        if importer_unit is None:  # pragma: no cover - product_files only yields units' files
            found.append(Violation(rel, 1, importer, "-", "module belongs to no unit of LAYERS"))
            continue
        if importer_unit == "crawler" and importer != "crawler":
            found.append(Violation(rel, 1, importer, "-", "code directly in crawler/ belongs to no unit: "
                                   "put it in a crawler subpackage, or add a unit to LAYERS on purpose"))
        for line, imported in imports_of(root, path):
            if imported.split(".")[0] not in project_tops:
                continue  # standard library or third party
            imported_unit = unit_of(imported, layers)
            if imported_unit == importer_unit:
                continue
            if imported_unit == TESTS_UNIT:
                rule = "no product or bench module may import tests/"
            elif imported_unit is None:
                rule = f"{imported} belongs to no unit of LAYERS"
            elif imported_unit not in layers[importer_unit]:
                allowed = ", ".join(sorted(layers[importer_unit])) or "nothing of the project"
                rule = f"{importer_unit} may import only {allowed} (not {imported_unit})"
            else:
                continue
            violation = Violation(rel, line, importer, imported, rule)
            if violation not in found:  # `from x import a, b` is one edge
                found.append(violation)
    return found


def edges(violations: list[Violation]) -> dict[str, frozenset[str]]:
    by_importer: dict[str, set[str]] = {}
    for v in violations:
        by_importer.setdefault(v.importer, set()).add(v.imported)
    return {importer: frozenset(imported) for importer, imported in by_importer.items()}


# --- the real tree ---------------------------------------------------------------------

def test_every_top_level_package_is_a_unit() -> None:
    """A new top-level package (or crawler subpackage) is placed in LAYERS on purpose."""
    ignored = {TESTS_UNIT, "docs", "build", "dist"}
    tops = {p.parent.name for p in REPO.glob("*/__init__.py")} - ignored
    assert sorted(tops - set(LAYERS)) == [], "add these packages to LAYERS (and docs/architecture.md)"
    subpackages = {f"crawler.{p.parent.name}" for p in REPO.glob("crawler/*/__init__.py")}
    assert sorted(subpackages - set(LAYERS)) == [], "add these crawler subpackages to LAYERS"
    assert sorted(unit for unit in LAYERS if not (REPO / Path(*unit.split(".")) / "__init__.py").is_file()) == []


def compare_with_pending(violations: list[Violation], pending: Mapping[str, frozenset[str]]) -> list[str]:
    """What is wrong: violations not in `pending`, and `pending` entries that no longer occur."""
    new = [v for v in violations if v.imported not in pending.get(v.importer, frozenset())]
    current = edges(violations)
    gone = sorted(f"{importer} → {imported}" for importer, targets in pending.items()
                  for imported in targets if imported not in current.get(importer, frozenset()))
    problems = []
    if new:
        problems.append("imports that break the layers (see LAYERS in tests/test_layers.py and "
                        "docs/architecture.md):\n  " + "\n  ".join(map(str, new)))
    if gone:
        problems.append("PENDING entries that no longer occur: remove them from PENDING:\n  " + "\n  ".join(gone))
    return problems


def test_imports_follow_the_layers() -> None:
    problems = compare_with_pending(find_violations(REPO, LAYERS), PENDING)
    assert not problems, "\n".join(problems)


def test_layers_match_docs() -> None:
    """docs/architecture.md carries the same table, in a fenced block after `layers:`."""
    text = ARCHITECTURE_DOC.read_text(encoding="utf-8")
    block = re.search(r"layers:.*?\n```[a-z]*\n(.*?)\n```", text, re.S)
    assert block, "docs/architecture.md: no fenced block after a `layers:` marker"
    documented: dict[str, frozenset[str]] = {}
    for line in block.group(1).splitlines():
        if not line.strip():
            continue
        unit, arrow, rest = line.partition("→")
        assert arrow, f"docs/architecture.md layers line without →: {line!r}"
        rest = rest.split("#")[0].strip()
        documented[unit.strip()] = frozenset() if rest == "nothing" else frozenset(
            name.strip() for name in rest.split(",") if name.strip())
    assert documented == LAYERS


# --- the checker itself, on a synthetic tree ----------------------------------------

def _write(root: Path, files: dict[str, str]) -> None:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")


TINY_LAYERS: dict[str, frozenset[str]] = {
    "low": frozenset(),
    "mid": frozenset({"low"}),
    "top": frozenset({"low", "mid"}),
}


@pytest.fixture
def tiny_tree(tmp_path: Path) -> Path:
    _write(tmp_path, {
        "low/__init__.py": "",
        "low/base.py": "import os\nfrom . import helpers\n",
        "low/helpers.py": "",
        "mid/__init__.py": "from low.base import helpers\n",
        "mid/work.py": "from ..low import base\nimport top.app as app_module\n",  # mid → top: upward
        "mid/lazy.py": "def f():\n    from ..top import app\n    return app\n",  # function-level, relative
        "mid/dyn.py": "import importlib\nimportlib.import_module('top.app')\n",
        "top/__init__.py": "",
        "top/app.py": "from mid import work\nfrom low import base\n",
        "top/leak.py": "from tests.helpers import fixture\n",
        "tests/__init__.py": "",
        "tests/helpers.py": "from top import app\n",  # tests may import anything
    })
    return tmp_path


def test_checker_reports_upward_and_tests_imports(tiny_tree: Path) -> None:
    found = sorted(find_violations(tiny_tree, TINY_LAYERS), key=lambda v: (v.path, v.line))
    assert [(v.path, v.line, v.importer, v.imported) for v in found] == [
        ("mid/dyn.py", 2, "mid.dyn", "top.app"),
        ("mid/lazy.py", 2, "mid.lazy", "top.app"),
        ("mid/work.py", 2, "mid.work", "top.app"),
        ("top/leak.py", 1, "top.leak", "tests.helpers"),
    ]
    assert str(found[2]) == "mid/work.py:2: mid.work → top.app: mid may import only low (not top)"
    assert found[3].rule == "no product or bench module may import tests/"
    assert edges(found)["mid.work"] == frozenset({"top.app"})


def test_checker_accepts_a_clean_tree(tiny_tree: Path) -> None:
    for name in ("mid/work.py", "mid/lazy.py", "mid/dyn.py", "top/leak.py"):
        (tiny_tree / name).unlink()
    assert find_violations(tiny_tree, TINY_LAYERS) == []


def test_checker_resolves_relative_imports_from_a_package_init(tmp_path: Path) -> None:
    _write(tmp_path, {
        "low/__init__.py": "from .sub import thing\nfrom .. import top\n",  # `..` from low/ is the root
        "low/sub.py": "",
        "top/__init__.py": "",
    })
    found = find_violations(tmp_path, {"low": frozenset(), "top": frozenset({"low"})})
    assert [(v.importer, v.imported, v.line) for v in found] == [("low", "top", 2)]


def test_pending_only_shrinks(tiny_tree: Path) -> None:
    found = find_violations(tiny_tree, TINY_LAYERS)
    everything = edges(found)
    assert compare_with_pending(found, everything) == []
    # an edge fixed but still listed fails, so the list is kept current
    stale = {**everything, "low.base": frozenset({"top.app"})}
    assert compare_with_pending(found, stale) == [
        "PENDING entries that no longer occur: remove them from PENDING:\n  low.base → top.app"]
    # a violation not listed fails with file:line and the rule
    partial = {k: v for k, v in everything.items() if k != "top.leak"}
    assert compare_with_pending(found, partial) == [
        "imports that break the layers (see LAYERS in tests/test_layers.py and docs/architecture.md):\n"
        "  top/leak.py:1: top.leak → tests.helpers: no product or bench module may import tests/"]
