"""A clock that stays where a test puts it (the ports.Clock protocol)."""
from __future__ import annotations


class FixedClock:
    def __init__(self, at):
        self.at = at

    def now(self):
        return self.at
