"""``graphtorch.jit.CompilationUnit``: functions compiled from source text.

The text is parsed by the script parser and compiled from its syntax tree; it is never run by
Python. Each ``def`` becomes a ScriptFunction, an attribute of the unit. Names in the text resolve,
in order, to the unit's own functions (so they can call each other in any order), ``torch`` (always
graphtorch, as ``torch`` always means torch in TorchScript), the names visible where the unit (or
``define``) was called, and Python's builtins.
"""

from __future__ import annotations

import ast
import inspect
import math
import sys
import typing

import graphtorch
from graphtorch.errors import ScriptError
from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.build_ast import build
from graphtorch.frontend.script.parser import parse_module
from graphtorch.frontend.script.source import Pos, SourceInfo, from_string
from graphtorch.frontend.script.unit import ScriptUnit

_TYPING_NAMES = ("List", "Dict", "Tuple", "Optional", "Union", "Any")


class _UnitScope(dict):
    """The globals of the unit's functions: a unit function not compiled yet is its
    :class:`_TextFunction`, which the compiler compiles when a call names it (so ``bar`` may call
    ``foo`` defined after it, and a recursive call is refused at its caret); other names are
    plain entries."""

    def __init__(self, unit: CompilationUnit, names: dict):
        super().__init__(names)
        self._unit = unit

    def __contains__(self, name) -> bool:
        return name in self._unit._pending or name in self._unit._functions or \
            super().__contains__(name)

    def __getitem__(self, name):
        if name in self._unit._functions:
            return self._unit._functions[name]
        if name in self._unit._pending:
            return self._unit._pending[name]
        return super().__getitem__(name)

    def get(self, name, default=None):
        return self[name] if name in self else default


class _TextFunction:
    """What the compiler reads of a Python function (globals, annotations, defaults, names),
    for a ``def`` that exists only as parsed text."""

    __closure__ = None
    __code__ = None     # NOTE: marks it as a function with source for the call resolver

    def __init__(self, name: str, src: SourceInfo, fdef: S.FunctionDef, scope: _UnitScope):
        self.__name__ = self.__qualname__ = name
        self.__module__ = "__unit__"
        self.__doc__ = None
        self.__globals__ = scope
        self.__annotations__: dict = {}
        self._gt_parsed = (src, fdef)
        self.__signature__ = _signature(src, fdef)

    def __call__(self, *args, **kwargs):   # NOTE: never called; inspect.signature wants a callable
        raise ScriptError(f"{self.__name__} exists only as compiled code")


def _signature(src: SourceInfo, fdef: S.FunctionDef) -> inspect.Signature:
    """The parameters of ``fdef`` with their defaults (constants, as TorchScript requires)."""
    params = []
    for p in fdef.params:
        kind = inspect.Parameter.KEYWORD_ONLY if p.kw_only else \
            inspect.Parameter.POSITIONAL_OR_KEYWORD
        default = inspect.Parameter.empty
        if p.default is not None:
            default = _constant(src, p.default)
        params.append(inspect.Parameter(p.name, kind, default=default))
    return inspect.Signature(params)


def _constant(src: SourceInfo, e: S.Expr):
    if isinstance(e, S.Constant):
        return e.value
    if isinstance(e, S.UnaryOp) and e.op == "-" and isinstance(e.operand, S.Constant) \
            and isinstance(e.operand.value, (int, float)):
        return -e.operand.value
    if isinstance(e, (S.Tuple, S.List)):
        items = [_constant(src, x) for x in e.elts]
        return tuple(items) if isinstance(e, S.Tuple) else items
    raise src.error("a default value in a CompilationUnit must be a constant", e.pos,
                    "write a literal: a number, a string, True/False/None or a tuple of them")


class CompilationUnit:
    """Functions compiled from TorchScript source text: ``cu = CompilationUnit(text)``, then
    ``cu.foo(x)``; ``define(text)`` adds more. A name defined twice is a ScriptError."""

    def __init__(self, lang: str | None = None, _frames_up: int = 0):
        object.__setattr__(self, "_functions", {})    # name -> ScriptFunction
        object.__setattr__(self, "_pending", {})      # name -> _TextFunction not compiled yet
        object.__setattr__(self, "_unit", ScriptUnit())
        if lang is not None:
            self.define(lang, _frames_up=_frames_up + 1)

    def define(self, src: str, rcb=None, _frames_up: int = 0) -> None:
        """Compile every ``def`` of ``src``; ``rcb`` (a name -> object callable) or else the
        caller's names resolve what the text does not define."""
        if not isinstance(src, str):
            raise ScriptError(f"CompilationUnit.define takes source text, not "
                              f"{type(src).__name__}", hint="to compile a function object, "
                              "use graphtorch.jit.script(fn)")
        names = _caller_names(_frames_up + 2) if rcb is None else {}
        scope = _UnitScope(self, _base_names(names))
        if rcb is not None:
            scope = _CallbackScope(self, scope, rcb)
        info = from_string(src)
        defs = build(info, parse_module(info))
        texts = _split(info, defs)
        new = []
        for fdef, (text, first) in zip(defs, texts):
            if not isinstance(fdef, S.FunctionDef):
                raise info.error("a CompilationUnit holds functions only", fdef.pos,
                                 "script classes are not supported; define functions")
            if fdef.name in self._functions or fdef.name in self._pending:
                raise info.error(f"function '{fdef.name}' is already defined in this "
                                 f"CompilationUnit", fdef.pos, "give it another name")
            if fdef.decorators:
                raise info.error("decorators are not supported on a CompilationUnit function",
                                 fdef.decorators[0].pos, "remove the decorator")
            part = SourceInfo(text, info.filename, first, 0)
            own = next(d for d in build(part, parse_module(part)) if isinstance(d, S.FunctionDef))
            self._pending[fdef.name] = _TextFunction(fdef.name, part, own, scope)
            new.append(fdef.name)
        for name in new:
            try:
                self._compile(name)
            except Exception:
                for n in new:
                    self._pending.pop(n, None)
                    self._functions.pop(n, None)
                raise

    def _compile(self, name: str):
        if name in self._functions:
            return self._functions[name]
        fn = self._pending[name]
        try:
            sf = self._unit.function(fn)
        except RecursionError:
            raise ScriptError(f"{name} is nested too deeply to compile",
                              hint="split deeply nested code into helper functions") from None
        self._functions[name] = sf
        self._pending.pop(name, None)
        return sf

    def find_function(self, name: str):
        """The ScriptFunction ``name``, or None."""
        return self._functions.get(name)

    def get_functions(self) -> list:
        return list(self._functions.values())

    def __getattr__(self, name: str):
        functions = self.__dict__.get("_functions", {})
        if name in functions:
            return functions[name]
        raise AttributeError(f"the CompilationUnit has no function '{name}'")

    def __setattr__(self, name, value):
        raise AttributeError("a CompilationUnit's functions come from define()")


class _CallbackScope(_UnitScope):
    """A unit scope that asks ``rcb`` (TorchScript's resolution callback) for names it lacks."""

    def __init__(self, unit: CompilationUnit, base: _UnitScope, rcb):
        super().__init__(unit, dict(base))
        self._rcb = rcb

    def _resolve(self, name):
        try:
            return self._rcb(name)
        except Exception:  # noqa: BLE001 - a callback that fails does not know the name
            return None

    def __contains__(self, name) -> bool:
        return super().__contains__(name) or self._resolve(name) is not None

    def __getitem__(self, name):
        if super().__contains__(name):
            return super().__getitem__(name)
        found = self._resolve(name)
        if found is None:
            raise KeyError(name)
        return found


def _caller_names(depth: int) -> dict:
    """The globals and locals of the frame ``depth`` levels up (a snapshot, as TorchScript's
    resolution callback of the defining frame)."""
    frame = sys._getframe(depth)
    names = dict(frame.f_globals)
    names.update(frame.f_locals)
    return names


def _base_names(names: dict) -> dict:
    base = {n: getattr(typing, n) for n in _TYPING_NAMES}
    base.update({"math": math, "Tensor": graphtorch.Tensor})
    base.update(names)
    base["torch"] = graphtorch
    return base


def _split(info: SourceInfo, defs: list) -> list[tuple[str, int]]:
    """Each top-level definition's own text and first line, so that its positions, ``# type:``
    comments and errors are its own."""
    try:
        tree = ast.parse(info.text, type_comments=True)
    except SyntaxError as err:
        raise info.error(f"cannot parse the CompilationUnit text: {err.msg}",
                         Pos(err.lineno or 1, err.offset or 1)) from None
    lines = info.text.splitlines(keepends=True)
    out = []
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        out.append(("".join(lines[start - 1:node.end_lineno]), start))
    if len(out) != len(defs):
        raise info.error("a CompilationUnit holds function definitions only", Pos(1, 1))
    return out
