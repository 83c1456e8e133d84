"""The project's error type: anything a user can cause ends up as a PoseliftError."""

from __future__ import annotations

import os


class PoseliftError(Exception):
    """An error caused by input (files, arguments) rather than a bug.

    ``path`` names the file or folder at fault, if any; the CLI prints
    ``poselift: error: <path>: <message>`` and exits non-zero.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.message = message
        self.path = None if path is None else os.fspath(path)
        super().__init__(self.__str__())

    def __str__(self) -> str:  # pragma: no cover - trivial
        return f"{self.path}: {self.message}" if self.path else self.message
