"""The installed package's shape: no import cycles, nothing found outside the package by its own path."""
import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lib" / "higherhrnet"


def module_name(path, package_dir=PACKAGE):
    """'higherhrnet.codec.matching' for lib/higherhrnet/codec/matching.py, 'higherhrnet.codec' for its __init__."""
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path, known, package_dir=PACKAGE):
    """Package modules that the file imports anywhere (module level or inside functions)."""
    name = module_name(path, package_dir)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # `from . import x` imports the module x, `from .m import f` imports m
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in known else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {module for module in found if module in known and module != name}


def import_graph(package_dir=PACKAGE):
    files = {module_name(path, package_dir): path for path in package_dir.rglob("*.py")}
    return {name: imported_modules(path, files, package_dir) for name, path in files.items()}


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan), as sorted lists."""
    order, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        order[node] = low[node] = len(order)
        stack.append(node)
        on_stack.add(node)
        for neighbour in graph[node]:
            if neighbour not in order:
                visit(neighbour)
                low[node] = min(low[node], low[neighbour])
            elif neighbour in on_stack:
                low[node] = min(low[node], order[neighbour])
        if low[node] == order[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in order:
            visit(node)
    return found


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_relative_imports_are_resolved(tmp_path):
    package = tmp_path / "higherhrnet"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .one import f\n")
    (package / "sub" / "one.py").write_text("def f():\n    from ..two import g\n")
    (package / "two.py").write_text("from .sub import one\n")
    graph = import_graph(package)
    assert graph["higherhrnet.sub.one"] == {"higherhrnet.two"}
    assert graph["higherhrnet.two"] == {"higherhrnet.sub.one"}
    assert cycles(graph) == [["higherhrnet.sub.one", "higherhrnet.two"]]


def test_the_package_has_no_import_cycle():
    assert cycles(import_graph()) == []


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda path: module_name(path))
def test_no_module_finds_files_above_the_package(path):
    """Under a regular install the package sits in site-packages: nothing above it is the repository."""
    text = path.read_text()
    assert not re.search(r"__file__\)?(\.resolve\(\))?\.parents\[|__file__\)?(\.resolve\(\))?\.parent\.parent", text)


def test_no_benchmark_module_in_the_package():
    """Benchmarks live in the repository's benchmarks/, run by tools/benchmark.py, not in what users install."""
    names = {part for path in PACKAGE.rglob("*.py") for part in path.relative_to(PACKAGE).with_suffix("").parts}
    assert not names & {"bench", "benchmark", "benchmarks", "latency", "timing"}


def _citations(text):
    """Section numbers (6.5, 6.7-6.9 -> 6.7 and 6.9) and labels (B11, M4) cited as `algorithm.md ...`."""
    cited = set()
    for match in re.finditer(r"algorithm\.md (?:§(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?(?:, (\d+\.\d+))?|([BM]\d+))",
                             text):
        cited.update(part for part in match.groups() if part)
    return cited


def test_the_package_cites_only_what_the_repository_ships():
    algorithm = (PACKAGE.parents[1] / "docs" / "algorithm.md").read_text()
    headings = set(re.findall(r"^#+ (\d+(?:\.\d+)?) ", algorithm, re.M))
    labels = set(re.findall(r"\*\*([BM]\d+)\*\*", algorithm))
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        assert not re.search(r"\bSPEC\b|\.\./shared", text), path
        missing = _citations(text) - headings - labels
        assert not missing, f"{path}: cites {sorted(missing)}, absent from docs/algorithm.md"


def test_citation_finder_reads_ranges_and_labels():
    assert _citations("see algorithm.md §6.7-6.9 and algorithm.md B11, algorithm.md §1.1, 1.4") == \
        {"6.7", "6.9", "B11", "1.1", "1.4"}
