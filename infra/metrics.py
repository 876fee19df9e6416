"""The business metrics the app emits, read from its source: every `telemetry.count("Name")`.

The dashboard groups the ones it knows and puts any other under "Other app metrics", so a metric
added to a service shows up on the next deploy without anyone editing infra/.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "Spaces"  # bootstrap.metrics(): Metrics(namespace="Spaces", service=SERVICE_NAME)
SERVICE_DIMENSION = {"service": "spaces-api"}  # chalicelib.config.SERVICE_NAME


def _names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):  # count("A" if ... else "B")
        return _names(node.body) + _names(node.orelse)
    return []


def emitted_metrics(source_dir: Path = ROOT / "chalicelib") -> list[str]:
    """Names passed to `<anything>.telemetry.count(...)` under `source_dir`, sorted."""
    found: set[str] = set()
    for path in sorted(source_dir.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "count"
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "telemetry"
                and node.args
            ):
                found.update(_names(node.args[0]))
    return sorted(found)
