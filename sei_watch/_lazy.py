"""The stages' front doors load their modules on first use: `sei-watch mark` must not pay for
the HTTP client or watchdog just because the names it needs live beside them (PEP 562)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["exports"]


def exports(package: str, names: Mapping[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` for `package` that imports `names[name]` (a sibling module) on
    first access and keeps the value, so the second access is a plain attribute."""

    def __getattr__(name: str) -> object:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
