"""The package's imports point down its layers and form no cycle (``python tools/import_graph.py``).

Layers, lowest first: data, layers, architectures and reference; detectors; metrics and
robustness; profiles, experiments and studies; tables and plots; the command line and the book.
Function-level imports count too, since they hide a cycle rather than remove it.
"""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "tools" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_has_no_import_cycle():
    tool = _tool()
    assert tool.cycles(tool.graph(ROOT)) == []


def test_imports_point_only_down_the_layers():
    tool = _tool()
    assert tool.upward_imports(tool.graph(ROOT)) == []


def test_estimators_do_not_import_studies_or_presentation():
    edges = _tool().graph(ROOT)
    above = ("adlip.studies", "adlip.experiments", "adlip.profiles", "adlip.tables", "adlip.plots")
    leaks = [(a, b) for a, targets in edges.items() if a.startswith("adlip.detectors")
             for b in targets if b.startswith(above)]
    assert leaks == []


def test_the_tool_finds_a_planted_cycle_and_an_upward_import():
    tool = _tool()
    planted = {"adlip.data": ["adlip.tables"], "adlip.tables": ["adlip.data"]}
    assert tool.cycles(planted) == [["adlip.data", "adlip.tables"]]
    assert ("adlip.data", "adlip.tables") in tool.upward_imports(planted)


def test_every_module_is_placed_in_a_layer():
    tool = _tool()
    for module in tool.graph(ROOT):
        tool.layer_of(module)   # raises for a module no layer names
