"""The layers of the design map hold: engine imports no Qt, app or ui; ui imports no app and no
heavy engine library; no two engine packages import each other; no module is in an import-time
cycle (tools/import_graph.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _import_graph():
    spec = importlib.util.spec_from_file_location(
        "import_graph", ROOT / "tools" / "import_graph.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("import_graph", module)  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def test_imports_point_down_only_and_engine_packages_form_no_cycle():
    report = _import_graph().report(ROOT)
    assert report["violations"] == []
    assert report["engine_cycles"] == []
    assert report["import_time_cycles"] == []
    assert not any(edge.startswith("ui") and "-> app" in edge for edge in report["package_edges"])


def test_the_check_sees_a_cycle_and_a_wrong_way_import(tmp_path):
    graph = _import_graph()
    for folder, text in {
        "engine/session.py": "from engine.context import fit\n",
        "engine/context/__init__.py": "",
        "engine/context/fit.py": "import engine.session\n",
        "ui/theme.py": "from app.paths import resources_dir\n",
        "app/__init__.py": "",
        "app/paths.py": "",
    }.items():
        path = tmp_path / folder
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    report = graph.report(tmp_path)
    assert report["engine_cycles"] == [["engine.context", "engine.session"]]
    assert report["violations"] == ["ui.theme:1 imports app.paths"]


def test_the_check_sees_a_package_init_that_imports_its_own_modules(tmp_path):
    """The shape that handed a library-process lane a half-initialized module: the package's
    `__init__` imports a module that imports a sibling through the package."""
    graph = _import_graph()
    for folder, text in {
        "engine/library/__init__.py": "from engine.library.library import Library\n",
        "engine/library/library.py": "from engine.library.ocr import read\n",
        "engine/library/ocr.py": "",
    }.items():
        path = tmp_path / folder
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert graph.report(tmp_path)["import_time_cycles"] == [
        ["engine.library", "engine.library.library"]
    ]
    (tmp_path / "engine/library/__init__.py").write_text("")
    assert graph.report(tmp_path)["import_time_cycles"] == []


def test_lazy_package_exports_are_what_they_name():
    """Every name a lazy package exports resolves, and none is hidden by a module's name."""
    import importlib
    import types

    for name in ("engine.library", "engine.lab", "engine.remote"):
        package = importlib.import_module(name)
        for export in package.__all__:
            value = getattr(package, export)
            assert not isinstance(value, types.ModuleType), f"{name}.{export} is a module"
