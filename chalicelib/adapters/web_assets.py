"""The web client's files (web/static/), read from the project directory for the local stage.

Only the local stage serves them through the app (chalicelib/api/web.py); in AWS stages the same
files are published to an S3 bucket behind CloudFront (infra/web.py), so the Lambda package does
not carry them (web/ is outside chalicelib/, which is all `chalice package` copies besides
app.py and the requirements).
"""
from __future__ import annotations

import re
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parents[2] / "web" / "static"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
# One flat directory: a name is a plain file name, never a path.
_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$")


def content_type(name: str) -> str | None:
    return CONTENT_TYPES.get(Path(name).suffix.lower())


class StaticFiles:
    def __init__(self, directory: Path = STATIC_DIR):
        self._directory = directory

    def read(self, name: str) -> tuple[str, str] | None:
        """(text, content type) of a served file, or None: unknown, not a plain name, or a type
        the client does not use."""
        kind = content_type(name)
        if kind is None or not _NAME.match(name) or ".." in name:
            return None
        path = self._directory / name
        try:
            return path.read_text(encoding="utf-8"), kind
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
