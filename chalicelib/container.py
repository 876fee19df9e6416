"""The container's cache: what `bootstrap` and the wiring modules it imports build, once per
container, under one name each.

A module of its own so the wiring is split by outside system (`media_wiring.py`: IVS, IVS Chat,
the pools) without an import cycle: `bootstrap` imports the wiring modules, and they, like
`bootstrap`, build into this one cache. `bootstrap.override()` and `bootstrap.reset()` (these
functions) therefore replace or drop a part wherever it is built. Nothing here imports more than
the settings; an AWS SDK is imported by the first client built.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, TypeVar

from chalicelib.config import Settings, get_settings

T = TypeVar("T")

_lock = threading.RLock()
_built: dict[str, Any] = {}

# "built, and there is nothing" (a pool turned off, no local signing key): `once` treats None
# as not built yet, so a part that may be absent stores this and its accessor answers None.
NONE = object()


def once(name: str, factory: Callable[[], T]) -> T:
    """What `factory` builds, built on the first call under `name` and kept for the container."""
    value = _built.get(name)
    if value is None:
        with _lock:
            value = _built.get(name)
            if value is None:
                value = factory()
                _built[name] = value
    return value


def built(name: str) -> Any:
    """The part built under `name`, or None when nothing built it yet (builds nothing)."""
    return _built.get(name)


def settings() -> Settings:
    return get_settings()


def boto3_client(service: str, **kwargs: Any) -> Any:
    """A new boto3 client of the stage's region (callers keep it with `once`)."""
    import boto3

    return boto3.session.Session().client(service, region_name=settings().region, **kwargs)


def secrets_client() -> Any:
    return once("secretsmanager_client", lambda: boto3_client("secretsmanager"))


def override(**parts: Any) -> None:
    """Tests: replace built parts (e.g. deps=Deps(...), verifier=...)."""
    with _lock:
        _built.update(parts)


def reset() -> None:
    with _lock:
        _built.clear()
