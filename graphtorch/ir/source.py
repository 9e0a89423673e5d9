"""Source locations that nodes carry for errors, explain reports and profiles."""

from __future__ import annotations

from dataclasses import dataclass

from graphtorch.errors import GraphError


@dataclass(frozen=True)
class SourceLoc:
    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    @staticmethod
    def parse(text: str) -> SourceLoc:
        """Read ``file:line:col`` (the file part may itself contain colons)."""
        file, _, rest = text.strip().rpartition(":")
        file, _, line = file.rpartition(":")
        if not file or not line.isdigit() or not rest.isdigit():
            raise GraphError(f"invalid source location {text!r}: expected 'file:line:col'")
        return SourceLoc(file, int(line), int(rest))
