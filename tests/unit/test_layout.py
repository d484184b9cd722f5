"""The house rules of qa/'s layout, read from the source with `ast`:

1. imports between qa's parts run one way, in the order of ``PARTS``: a module
   imports from its own part or an earlier one, never a later one (every
   import counts, those inside functions too; ``from qa import ...`` is an
   import of the package's front, which stands with the pipeline);
2. no module is over 400 lines;
3. no function is over 80 lines, but the chat's declarative layout
   (``LAYOUT``) may have up to 150.

Each rule is one test, whose message lists every violation.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from helpers import ROOT

QA = ROOT / "qa"
FOUNDATION = ("types", "settings", "timing", "runtime", "layers", "processes")
# The parts in import order: each may import from itself and those before it.
PARTS = ("foundation", "corpus", "search", "index", "reading", "answers", "pipeline", "evaluation", "serving")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
MAX_LAYOUT_LINES = 150

# The one module whose functions lay out a page, declaratively: one component a line.
LAYOUT = "qa/serving/chat/layout.py"


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _modules() -> dict[str, Path]:
    """Every module of qa by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(QA.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def part_of(module: str) -> str | None:
    """The part a module of qa belongs to (None: it belongs to none)."""
    names = module.split(".")
    if module in ("qa", "qa.pipeline"):  # the package's front re-exports the pipeline
        return "pipeline"
    if module == "qa.__main__":  # the command line, above everything
        return "serving"
    if names[1] in FOUNDATION and len(names) == 2:
        return "foundation"
    if names[1] in PARTS and (QA / names[1]).is_dir():
        return names[1]
    return None


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: dict) -> list[str]:
    """The modules of qa an import statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: from the module's package, up node.level - 1
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, *([base] if base else [])])
        # `from qa.x import y` names the module qa.x.y where there is one, else qa.x itself.
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
    return [name for name in names if name == "qa" or name.startswith("qa.")]


@functools.cache
def import_violations() -> dict[str, str]:
    modules, found = _modules(), {}
    for module, path in modules.items():
        mine = part_of(module)
        if mine is None:
            found[f"{_rel(path)} is in no part"] = f"{_rel(path)}: in none of the parts {PARTS}"
            continue
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _imported(node, module, path.name == "__init__.py", modules):
                theirs = part_of(target)
                if theirs is not None and PARTS.index(theirs) > PARTS.index(mine):
                    key = f"{_rel(path)} -> {target}"
                    found[key] = f"{_rel(path)}:{node.lineno} imports {target} ({mine} may not import from {theirs})"
    return found


@functools.cache
def module_line_violations() -> dict[str, str]:
    found = {}
    for path in sorted(QA.rglob("*.py")):
        lines = len(path.read_text("utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            found[_rel(path)] = f"{_rel(path)}: {lines} lines (at most {MAX_MODULE_LINES})"
    return found


@functools.cache
def function_line_violations() -> dict[str, str]:
    found = {}
    for path in sorted(QA.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                limit = MAX_LAYOUT_LINES if _rel(path) == LAYOUT else MAX_FUNCTION_LINES
                if lines > limit:
                    key = f"{_rel(path)}:{node.name}"
                    found[key] = f"{_rel(path)}:{node.lineno} {node.name}(): {lines} lines (at most {limit})"
    return found


RULES = {
    "imports": import_violations,
    "module lines": module_line_violations,
    "function lines": function_line_violations,
}


def _check(rule: str) -> None:
    found = RULES[rule]()
    listing = "\n".join(f"  {message}" for message in found.values())
    assert not found, f"{len(found)} violation(s) of the rule on {rule}:\n{listing}"


def test_imports_run_one_way_through_the_parts():
    _check("imports")


def test_no_module_is_over_400_lines():
    _check("module lines")


def test_no_function_is_over_80_lines_but_the_layout():
    _check("function lines")
    assert (ROOT / LAYOUT).is_file()


def test_the_rules_read_the_parts_as_they_are():
    """The checks themselves: parts and imports read as the rules mean them."""
    assert part_of("qa.types") == part_of("qa.layers") == "foundation"
    assert part_of("qa.corpus.articles") == "corpus" and part_of("qa.serving.api") == "serving"
    assert part_of("qa") == part_of("qa.pipeline") == "pipeline" and part_of("qa.__main__") == "serving"
    assert part_of("qa.somewhere_new") is None
    modules = _modules()
    assert {"qa", "qa.pipeline", "qa.corpus", "qa.corpus.articles", "qa.search.base"} <= set(modules)
    node = ast.parse("from qa.search import base, NOT_A_MODULE").body[0]
    assert _imported(node, "qa.index.view", False, modules) == ["qa.search.base", "qa.search"]
    node = ast.parse("from .articles import read_corpus").body[0]
    assert _imported(node, "qa.corpus.copies", False, modules) == ["qa.corpus.articles"]
    node = ast.parse("from . import articles").body[0]
    assert _imported(node, "qa.corpus", True, modules) == ["qa.corpus.articles"]
    assert _imported(ast.parse("import numpy, qa.types").body[0], "qa.x", False, modules) == ["qa.types"]
