"""Operator schemas: ``add(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor``.

The schema language is TorchScript's: argument types ``Tensor``, ``Tensor?``, ``Tensor[]``,
``int``, ``int[]``, ``int?``, ``int[]?``, ``float``, ``float?``, ``bool``, ``bool?``, ``Scalar``,
``Scalar?``, ``ScalarType?`` (a dtype), ``Device?``, ``str``, ``str?``, ``Any`` (a structured
attribute), ``Generator?``. Everything after ``*`` is keyword-only. One schema serves the eager
API (binding), script type-checking, IR printing/parsing and serialization.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from graphtorch.errors import ArgumentError

_NO_DEFAULT = object()


@dataclass(frozen=True)
class Arg:
    name: str
    type: str
    default: object = _NO_DEFAULT
    kw_only: bool = False

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT

    @property
    def is_tensor(self) -> bool:
        return self.type in ("Tensor", "Tensor?")

    @property
    def is_tensor_list(self) -> bool:
        return self.type in ("Tensor[]", "Tensor?[]")

    @property
    def optional(self) -> bool:
        return self.type.endswith("?")

    def __str__(self) -> str:
        s = f"{self.type} {self.name}"
        if self.has_default:
            s += "=" + _format_default(self.default)
        return s


def _format_default(v) -> str:
    if v is None:
        return "None"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_format_default(x) for x in v) + "]"
    if isinstance(v, str):
        return repr(v)
    return str(v)


@dataclass(frozen=True)
class Schema:
    name: str
    args: tuple[Arg, ...]
    returns: tuple[str, ...]

    def __str__(self) -> str:
        parts, star = [], False
        for a in self.args:
            if a.kw_only and not star:
                parts.append("*")
                star = True
            parts.append(str(a))
        if len(self.returns) == 1:
            ret = self.returns[0]
        else:
            ret = "(" + ", ".join(self.returns) + ")"
        return f"{self.name}({', '.join(parts)}) -> {ret}"

    @property
    def tensor_arg_indices(self) -> tuple[int, ...]:
        return tuple(i for i, a in enumerate(self.args) if a.is_tensor or a.is_tensor_list)

    def arg_index(self, name: str) -> int:
        for i, a in enumerate(self.args):
            if a.name == name:
                return i
        raise KeyError(name)


_SCHEMA_RE = re.compile(r"^\s*([\w.]+)\s*\((.*)\)\s*->\s*(.+?)\s*$", re.S)


def _split_top(s: str) -> list[str]:
    out, depth, cur = [], 0, []
    for ch in s:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def _parse_default(text: str):
    text = text.strip()
    if text in ("None", "True", "False"):
        return {"None": None, "True": True, "False": False}[text]
    if text == "inf":
        return float("inf")
    if text == "-inf":
        return float("-inf")
    return ast.literal_eval(text)


def parse_schema(text: str) -> Schema:
    m = _SCHEMA_RE.match(text)
    if not m:
        raise ValueError(f"malformed schema {text!r}")
    name, args_text, ret_text = m.groups()
    args, kw_only = [], False
    for part in _split_top(args_text):
        if part == "*":
            kw_only = True
            continue
        decl, _, default = part.partition("=")
        typ, _, aname = decl.strip().rpartition(" ")
        if not typ:
            raise ValueError(f"argument {part!r} in schema {text!r} has no type")
        dv = _parse_default(default) if default else _NO_DEFAULT
        args.append(Arg(aname.strip(), typ.strip(), dv, kw_only))
    ret_text = ret_text.strip()
    if ret_text.startswith("(") and ret_text.endswith(")"):
        returns = tuple(_split_top(ret_text[1:-1]))
    else:
        returns = (ret_text,)
    return Schema(name, tuple(args), returns)


class Binder:
    """Binds a Python call's ``args``/``kwargs`` to a schema's argument list, quickly."""

    __slots__ = ("schema", "names", "defaults", "n_positional", "index")

    def __init__(self, schema: Schema):
        self.schema = schema
        self.names = tuple(a.name for a in schema.args)
        self.defaults = tuple(a.default for a in schema.args)
        self.n_positional = sum(1 for a in schema.args if not a.kw_only)
        self.index = {a.name: i for i, a in enumerate(schema.args)}

    def bind(self, args: tuple, kwargs: dict | None) -> list:
        n = len(args)
        if n > self.n_positional:
            raise ArgumentError(f"{self.schema.name}() takes {self.n_positional} positional "
                                f"argument(s) but {n} were given\n  schema: {self.schema}")
        vals = list(args)
        vals.extend(self.defaults[n:])
        if kwargs:
            for k, v in kwargs.items():
                i = self.index.get(k)
                if i is None:
                    raise ArgumentError(f"{self.schema.name}() got an unexpected keyword argument "
                                        f"{k!r}\n  schema: {self.schema}")
                if i < n:
                    raise ArgumentError(f"{self.schema.name}() got multiple values for argument "
                                        f"{k!r}\n  schema: {self.schema}")
                vals[i] = v
        for i in range(n, len(vals)):
            if vals[i] is _NO_DEFAULT:
                raise ArgumentError(f"{self.schema.name}() missing required argument "
                                    f"{self.names[i]!r}\n  schema: {self.schema}")
        return vals
