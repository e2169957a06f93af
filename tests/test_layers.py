"""The layers of the design map hold: engine imports no Qt, app or ui; ui imports no app and no
heavy engine library; no two engine packages import each other (tools/import_graph.py)."""

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
