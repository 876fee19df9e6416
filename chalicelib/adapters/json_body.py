"""How a queue message or a schedule's payload becomes the JSON text SQS and EventBridge Scheduler
carry: a message Struct (chalicelib/domain/messages.py) as its fields by name, a dict as it is,
keys sorted. Anything JSON cannot carry (a datetime in a dict, say) raises TypeError before
anything is sent."""
from __future__ import annotations

import json
from typing import Any

from msgspec import Struct, to_builtins


def json_text(body: Any, *, compact: bool = True) -> str:
    plain = to_builtins(body) if isinstance(body, Struct) else body
    return json.dumps(plain, sort_keys=True, separators=(",", ":") if compact else None)
