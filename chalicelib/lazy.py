"""Lazy modules: a route or job module names the service it calls without importing it, so every
Lambda of the app (they all import app.py) loads only the services it runs, on first use."""
from __future__ import annotations

import importlib
from types import ModuleType


class LazyModule:
    """Stands for a module; the first attribute read imports it (importlib's lock makes that safe
    across threads), later ones go straight to it."""

    def __init__(self, name: str):
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str):
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def bodies(area: str) -> LazyModule:
    """`chalicelib.api.bodies.<area>` (that area's commands and their parsers), imported by the
    first request with such a body."""
    return LazyModule(f"chalicelib.api.bodies.{area}")


def service(name: str) -> LazyModule:
    """`chalicelib.services.<name>`, imported on first use."""
    return LazyModule(f"chalicelib.services.{name}")
