"""Where scripted source comes from, and how errors point back at it.

``inspect.getsource`` gives the (possibly indented) text of a function; it is dedented before
parsing, so every position the parser reports is shifted back by the file's first line number and
the removed indent. Errors then show the real file, line and column.
"""

from __future__ import annotations

import inspect
import linecache
import re
import textwrap
import types
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
        found = _function_lines(obj)
        if found is None:
            lines, first = inspect.getsourcelines(obj)
            filename = inspect.getsourcefile(obj) or inspect.getfile(obj)
        else:
            lines, first, filename = found
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


_DEF_LINE = re.compile(r"\s*(@|def\s|async\s+def\s)")


def _code_last_line(code: types.CodeType) -> int:
    """The last source line any instruction of ``code`` (or of a function nested in it) spans."""
    last = code.co_firstlineno
    for _start, end, _col, _end_col in code.co_positions():
        if end is not None and end > last:
            last = end
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            last = max(last, _code_last_line(const))
    return last


def _function_lines(obj) -> tuple[list[str], int, str] | None:
    """A plain function's source lines, first line and file, read off its code object: from
    ``co_firstlineno`` (its first decorator or ``def``) to the last line its instructions span.
    ``inspect.getsourcelines`` finds the same block by tokenizing the file from there, which
    costs about a tenth of scripting a small function. None -- let inspect do it -- unless the
    block holds the ``def`` line and provably ends there: the next line that is not blank or a
    comment is indented no deeper than the ``def`` (a trailing statement without instructions,
    such as ``pass`` or a bare annotation, or a string continuing below, makes it deeper)."""
    if (not isinstance(obj, types.FunctionType) or obj.__name__ == "<lambda>"
            or hasattr(obj, "__wrapped__")):       # inspect follows __wrapped__
        return None
    code = obj.__code__
    filename = code.co_filename
    if not filename.endswith(".py"):
        return None
    lines = linecache.getlines(filename, obj.__globals__)
    first = code.co_firstlineno
    if not 0 < first <= len(lines) or not _DEF_LINE.match(lines[first - 1]):
        return None
    head = lines[first - 1]
    indent = len(head) - len(head.lstrip())
    last = _code_last_line(code)
    header = re.compile(rf"\s*(async\s+)?def\s+{re.escape(code.co_name)}\b")
    if not any(header.match(line) for line in lines[first - 1:last]):
        return None         # the instructions end before the def line (a docstring-only body)
    for line in lines[last:]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(line) - len(line.lstrip()) > indent:
            return None
        break
    return lines[first - 1:last], first, filename


def from_string(text: str, filename: str = "<string>") -> SourceInfo:
    """Source given as a string (``graphtorch.jit.CompilationUnit`` style and tests)."""
    text = textwrap.dedent(text)
    if not text.endswith("\n"):
        text += "\n"
    return SourceInfo(text, filename, 1, 0)
