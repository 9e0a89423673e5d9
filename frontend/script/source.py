"""Where scripted source comes from, and how errors point back at it.

``inspect.getsource`` gives the (possibly indented) text of a function; it is dedented before
parsing, so every position the parser reports is shifted back by the file's first line number and
the removed indent. Errors then show the real file, line and column.
"""

from __future__ import annotations

import inspect
import linecache
import textwrap
from dataclasses import dataclass

from graphtorch.errors import ScriptError


@dataclass(frozen=True)
class Pos:
    """A position in parsed text: 1-based line and column, as lark reports them."""

    line: int
    column: int


@dataclass(frozen=True)
class SourceInfo:
    text: str              # the dedented text that is parsed
    filename: str
    first_line: int        # file line of the text's first line (1-based)
    indent: int            # columns removed by dedent

    def file_line(self, pos: Pos | None) -> int | None:
        return None if pos is None else pos.line + self.first_line - 1

    def source_line(self, pos: Pos) -> str:
        line = linecache.getline(self.filename, self.file_line(pos))
        if line:
            return line.rstrip("\n")
        lines = self.text.splitlines()
        body = lines[pos.line - 1] if 0 < pos.line <= len(lines) else ""
        return " " * self.indent + body

    def error(self, message: str, pos: Pos | None, hint: str | None = None) -> ScriptError:
        """A ScriptError pointing at ``pos`` (file, line, the line itself and a caret)."""
        if pos is None:
            return ScriptError(message, self.filename, hint=hint)
        return ScriptError(message, self.filename, self.file_line(pos), pos.column + self.indent,
                           self.source_line(pos), hint)

    def location(self, pos: Pos | None) -> str:
        """``file:line:col``, the form IR nodes and explain reports show."""
        if pos is None:
            return self.filename
        return f"{self.filename}:{self.file_line(pos)}:{pos.column + self.indent}"


def get_source(obj) -> SourceInfo:
    """The source of a function or class, ready to parse; ScriptError when there is none."""
    name = getattr(obj, "__qualname__", repr(obj))
    try:
        lines, first = inspect.getsourcelines(obj)
        filename = inspect.getsourcefile(obj) or inspect.getfile(obj)
    except (OSError, TypeError) as e:
        raise ScriptError(f"cannot script {name}: its Python source is not available ({e})",
                          hint="define it in a .py file (not in an interactive session or exec), "
                               "or decorate it with @graphtorch.jit.ignore") from None
    raw = "".join(lines)
    text = textwrap.dedent(raw)
    first_raw = next((ln for ln in raw.splitlines() if ln.strip()), "")
    first_new = next((ln for ln in text.splitlines() if ln.strip()), "")
    indent = len(first_raw) - len(first_new)
    if not text.endswith("\n"):
        text += "\n"
    return SourceInfo(text, filename, max(first, 1), indent)


def from_string(text: str, filename: str = "<string>") -> SourceInfo:
    """Source given as a string (``graphtorch.jit.CompilationUnit`` style and tests)."""
    text = textwrap.dedent(text)
    if not text.endswith("\n"):
        text += "\n"
    return SourceInfo(text, filename, 1, 0)
