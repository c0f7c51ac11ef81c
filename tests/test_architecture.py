"""The layering the README's architecture section describes, checked: no import cycle in the library,
no Streamlit in it, and no environment read outside the settings."""

import ast
from pathlib import Path

LIBRARY = Path(__file__).resolve().parent.parent / "fer"


def _imports() -> dict[str, set[str]]:
    """Module -> the library modules it imports, at the top or inside functions."""
    graph = {}
    for path in LIBRARY.glob("*.py"):
        tree = ast.parse(path.read_text())
        graph[path.stem] = {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module}
    return graph


def test_the_library_has_no_import_cycle():
    graph, state = _imports(), {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for dep in sorted(graph.get(module, ())):
            assert state.get(dep) != "open", " -> ".join(path + [dep])
            if dep not in state:
                visit(dep, path + [dep])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_library_never_imports_streamlit():
    for path in LIBRARY.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not any(name.split(".")[0] == "streamlit" for name in names), path.name


def test_the_lowest_layer_imports_nothing_of_ours():
    graph = _imports()
    assert graph["settings"] == graph["assets"] == graph["emotions"] == set()
