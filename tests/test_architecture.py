"""The layering of docs/architecture.md, checked on the source: every `import` of every module
under rag/ (and ui/app.py), lazy ones inside functions included, must go to a folder the table
below allows, and no two modules may import each other, directly or around a loop."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: part of rag → the parts it may import besides itself (a part is a folder such as "ingest",
#: a top-level module such as "pipeline", or a dotted module for a single allowed exception).
#: Keep in step with the table in docs/architecture.md.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "types": set(),
    "progress": set(),
    "config": {"errors"},
    "vi": set(),
    "ingest": {"vi", "types", "errors", "config", "progress"},
    "embedders": {"config", "errors", "progress"},
    "store": {"ingest", "embedders", "vi", "types", "errors", "config", "progress"},
    "search": {"store", "embedders", "vi", "types", "errors", "config"},
    "answerers": {"search", "ingest", "vi", "types", "errors", "config"},
    "pipeline": {"ingest", "embedders", "store", "search", "answerers", "vi", "types", "errors", "config",
                 "progress"},
    "evaluation": {"vi", "types", "errors", "config"},
    # accounts, collections, sessions, audit (issue #14): no stage, only the shared base
    "accounts": {"types", "errors", "config"},
    # the feedback export labels a question with its kind, as eval/qa.jsonl does
    "app": {"pipeline", "evaluation", "accounts", "types", "errors", "config", "progress", "search.query"},
    "__main__": {"app"},
    "__init__": set(),
    "ui": {"pipeline", "app", "accounts", "types", "errors", "config"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Modules of this project that `path` imports, as dotted names ("rag.store.index")."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for a in node.names:  # `from . import index` imports the module rag.store.index
                sub = f"{target}.{a.name}"
                found.add(sub if _is_module(sub) else target)
    return {m for m in found if m == "rag" or m.startswith("rag.")}


def _is_module(dotted: str) -> bool:
    p = ROOT.joinpath(*dotted.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def part(module: str) -> str:
    """rag.store.index → "store"; rag.pipeline → "pipeline"; rag → "__init__"."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def allowed(source: str, target: str) -> bool:
    src, dst = part(source), part(target)
    if src == dst:
        return True
    rest = target.split(".", 1)[1] if "." in target else ""
    return any(dst == a or rest == a or rest.startswith(a + ".") for a in ALLOWED[src])


def graph() -> dict[str, set[str]]:
    files = sorted((ROOT / "rag").rglob("*.py"))
    return {module_name(f): imports(f) for f in files}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), plus self-imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in edges.get(v, ()):
                out.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_every_part_of_rag_has_a_rule() -> None:
    assert {part(m) for m in graph()} <= set(ALLOWED)


def test_each_folder_imports_only_what_docs_architecture_allows() -> None:
    edges = graph()
    edges["ui"] = imports(ROOT / "ui" / "app.py")
    bad = sorted(f"{src} imports {dst}" for src, dsts in edges.items() for dst in dsts
                 if not allowed("rag.ui" if src == "ui" else src, dst))
    assert bad == []


def test_no_import_cycle_between_modules() -> None:
    assert cycles(graph()) == []


@pytest.mark.parametrize(
    "edges, expected",
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"a"}}, [["a"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ],
)
def test_cycle_finder(edges: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(edges) == expected


@pytest.mark.parametrize(
    "source, target, ok",
    [
        ("rag.pipeline", "rag.store.index", True),
        ("rag.store.build", "rag.pipeline", False),  # a stage never reaches back up
        ("rag.ingest.report", "rag.store.build", False),
        ("rag.app.uploads", "rag.ingest.files", False),  # the UI's helpers go through Pipeline
        ("rag.app.feedback", "rag.search.query", True),
        ("rag.app.feedback", "rag.search.retrieve", False),
        ("rag.vi.text", "rag.config", False),
    ],
)
def test_rule_lookup(source: str, target: str, ok: bool) -> None:
    assert allowed(source, target) is ok


def test_the_factory_circle_stays_broken() -> None:
    """embedders/base.py held the factory: base → auto → base was the package's only circle."""
    assert "rag.embedders.auto" not in imports(ROOT / "rag" / "embedders" / "base.py")


def test_only_config_reads_rag_variables() -> None:
    import re

    reads = re.compile(r"""(?:environ\.get|getenv|environ\[)\(?\s*["']RAG_""")
    offenders = [str(f.relative_to(ROOT)) for f in sorted((ROOT / "rag").rglob("*.py"))
                 if f.name != "config.py" and reads.search(f.read_text(encoding="utf-8"))]
    assert offenders == []
