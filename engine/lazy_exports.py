"""Package exports that import their module on first use (PEP 562).

A package `__init__` that imports its modules eagerly makes every module inside it import the
whole package first, which ties the modules into one import cycle: two threads importing two of
them for the first time at once can then meet Python's import-deadlock fallback and get a
half-initialized module. With lazy exports, `from engine.library import Library` still works and
`engine.library.retrieve` imports only what it names.

An export must not share its name with a module of the package: importing that module sets
the package attribute to the module, which then hides the export.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package`, serving each name from its module.

    Args:
        package: The package's `__name__`.
        exports: Exported name -> module name inside the package (e.g. "Library": "library").

    Raises (from the returned `__getattr__`):
        AttributeError: for a name that is not exported, as for any module.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
