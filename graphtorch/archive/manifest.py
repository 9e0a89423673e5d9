"""The manifest (``graphtorch.json``): schema, stable JSON encoding and validation.

The manifest is plain data: dataclasses here, JSON on disk, sorted keys, no floats except in
attribute values. Anything order-sensitive (submodules, parameters, methods) is a list, so
sorting keys never reorders a model. Reading checks every field's presence and type and names
the JSON path of the first bad one (``root.submodules[0].parameters[1].key``); unknown fields
are ignored (minor versions may add them).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field

from graphtorch.archive import strict_json
from graphtorch.errors import FormatError

MANIFEST = "graphtorch.json"
TENSORS = "tensors.safetensors"
FORMAT_MAJOR, FORMAT_MINOR = 1, 1   # 1.1 added Method.defaults
FORMAT_VERSION = f"{FORMAT_MAJOR}.{FORMAT_MINOR}"
MAX_MANIFEST_BYTES = 64 << 20
MAX_DEPTH = 200
_VERSION_PART = re.compile(r"[0-9]{1,9}")     # ASCII digits, a number Python reads at once


@dataclass
class TensorRef:
    """A parameter or buffer slot of a module and the key of its data in the tensors member."""

    name: str
    key: str
    requires_grad: bool = False
    persistent: bool = True

    def to_json(self) -> dict:
        return {"name": self.name, "key": self.key, "requires_grad": self.requires_grad,
                "persistent": self.persistent}


@dataclass
class Attribute:
    """A constant attribute: its IR type (for readers and tools) and a tagged value."""

    name: str
    type: str
    value: object   # tagged JSON, see encode_value

    def to_json(self) -> dict:
        return {"name": self.name, "type": self.type, "value": self.value}


@dataclass
class Method:
    name: str
    code: str                      # member holding the IR text
    arg_names: list[str]
    signature: str                 # forward(x : Tensor(float32, [B, 4])) -> (Tensor(...))
    tensor_constants: dict[str, str] = field(default_factory=dict)  # IR name -> tensor key
    defaults: dict[str, object] = field(default_factory=dict)  # arg name -> tagged value (1.1)

    def to_json(self) -> dict:
        out = {"name": self.name, "code": self.code, "arg_names": self.arg_names,
               "signature": self.signature, "tensor_constants": self.tensor_constants}
        if self.defaults:   # absent when empty, as in 1.0 manifests
            out["defaults"] = self.defaults
        return out


@dataclass
class ModuleEntry:
    name: str                      # attribute name in the parent ("" for the root)
    class_name: str                # qualified IR type name (__torch__.MyCell)
    original_name: str
    kind: str                      # "script" or "trace": the ScriptModule flavour
    training: bool
    parameters: list[TensorRef] = field(default_factory=list)
    buffers: list[TensorRef] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    methods: list[Method] = field(default_factory=list)
    submodules: list[ModuleEntry] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"name": self.name, "class": self.class_name,
                "original_name": self.original_name, "kind": self.kind,
                "training": self.training,
                "parameters": [p.to_json() for p in self.parameters],
                "buffers": [b.to_json() for b in self.buffers],
                "attributes": [a.to_json() for a in self.attributes],
                "methods": [m.to_json() for m in self.methods],
                "submodules": [s.to_json() for s in self.submodules]}

    def walk(self, prefix: str = ""):
        """(dotted path, entry) for this module and every submodule, depth first."""
        yield prefix, self
        for s in self.submodules:
            yield from s.walk(f"{prefix}.{s.name}" if prefix else s.name)


@dataclass
class Manifest:
    producer_version: str
    root: ModuleEntry | None           # None when the archive holds a single function
    functions: list[Method] = field(default_factory=list)
    entry_function: str | None = None  # qualified name, for archives of a ScriptFunction
    format_version: str = FORMAT_VERSION
    producer: str = "graphtorch"

    def to_json(self) -> dict:
        return {"format_version": self.format_version,
                "producer": {"name": self.producer, "version": self.producer_version},
                "root": None if self.root is None else self.root.to_json(),
                "entry_function": self.entry_function,
                "functions": [f.to_json() for f in self.functions],
                "tensors": TENSORS}

    def dumps(self) -> bytes:
        return (json.dumps(self.to_json(), sort_keys=True, indent=1, ensure_ascii=False,
                           allow_nan=False) + "\n").encode("utf-8")


# -- attribute values --------------------------------------------------------------------------
def encode_float(x: float) -> float | str:
    """JSON has no inf/nan: those become strings; finite floats stay numbers (repr round-trips)."""
    return x if math.isfinite(x) else repr(x)


def decode_float(x, where: str) -> float:
    if isinstance(x, str) and x in ("inf", "-inf", "nan"):
        return float(x)
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    raise FormatError(f"{where}: expected a float, got {x!r}", member=MANIFEST)


# -- reading -----------------------------------------------------------------------------------
class _Fields:
    """Typed access to one JSON object, with errors naming the JSON path."""

    def __init__(self, obj, where: str):
        if not isinstance(obj, dict):
            raise FormatError(f"{where}: expected a JSON object, got {_kind(obj)}",
                              member=MANIFEST)
        self.obj, self.where = obj, where

    def get(self, key: str, typ, default=...):
        if key not in self.obj:
            if default is not ...:
                return default
            raise FormatError(f"{self.where}: missing field {key!r}", member=MANIFEST)
        value = self.obj[key]
        ok = (isinstance(value, typ) and not (typ is int and isinstance(value, bool)))
        if not ok:
            names = " or ".join(_JSON_NAMES[t] for t in (typ if isinstance(typ, tuple) else (typ,)))
            raise FormatError(f"{self.where}.{key}: expected {names}, got "
                              f"{_kind(value)}", member=MANIFEST)
        return value

    def items(self, key: str, default=...):
        return self.get(key, list, default)

    def str_map(self, key: str) -> dict[str, str]:
        value = self.get(key, dict, {})
        for k, v in value.items():
            if not isinstance(v, str):
                raise FormatError(f"{self.where}.{key}.{k}: expected a string, got {_kind(v)}",
                                  member=MANIFEST)
        return dict(value)


_JSON_NAMES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
               int: "an integer", float: "a number", type(None): "null"}


def _kind(value) -> str:
    return _JSON_NAMES.get(type(value), type(value).__name__)


def parse(data) -> Manifest:
    """Validate and read a manifest; raises FormatError naming the bad field."""
    obj = strict_json.loads(data, MANIFEST)
    top = _Fields(obj, "manifest")
    check_version(top.get("format_version", str), top)
    producer = _Fields(top.get("producer", dict), "manifest.producer")
    root_obj = top.get("root", (dict, type(None)))
    root = None if root_obj is None else _module(root_obj, "root", 0)
    functions = [_method(f, f"functions[{i}]") for i, f in enumerate(top.items("functions"))]
    entry = top.get("entry_function", (str, type(None)), None)
    if root is None and entry is None:
        raise FormatError("manifest: neither a root module nor an entry function",
                          member=MANIFEST)
    if entry is not None and entry not in {f.name for f in functions}:
        raise FormatError(f"manifest.entry_function: {entry!r} is not among the functions",
                          member=MANIFEST)
    return Manifest(producer_version=producer.get("version", str), root=root,
                    functions=functions, entry_function=entry,
                    format_version=top.get("format_version", str),
                    producer=producer.get("name", str))


def check_version(version: str, top: _Fields) -> None:
    major, dot, minor = version.partition(".")
    if not (dot and _VERSION_PART.fullmatch(major) and _VERSION_PART.fullmatch(minor)):
        shown = f"{version[:32]!r}..." if len(version) > 32 else repr(version)
        raise FormatError(f"manifest.format_version: expected 'MAJOR.MINOR', got {shown}",
                          member=MANIFEST)
    if int(major) > FORMAT_MAJOR:
        producer = top.obj.get("producer")
        by = producer.get("version") if isinstance(producer, dict) else None
        need = f"{by} or newer" if isinstance(by, str) else f"a release that reads format {major}"
        raise FormatError(f"the archive has format version {version}, newer than the {FORMAT_MAJOR}"
                          f".x this graphtorch reads: upgrade graphtorch to {need}",
                          member=MANIFEST)


def _ref(obj, where: str) -> TensorRef:
    f = _Fields(obj, where)
    return TensorRef(f.get("name", str), f.get("key", str), f.get("requires_grad", bool, False),
                     f.get("persistent", bool, True))


def _method(obj, where: str) -> Method:
    f = _Fields(obj, where)
    names = f.items("arg_names")
    for i, n in enumerate(names):
        if not isinstance(n, str):
            raise FormatError(f"{where}.arg_names[{i}]: expected a string, got {_kind(n)}",
                              member=MANIFEST)
    defaults = f.get("defaults", dict, {})
    for name in defaults:
        if name not in names:
            raise FormatError(f"{where}.defaults: {name!r} is not one of the arguments {names}",
                              member=MANIFEST)
    return Method(f.get("name", str), f.get("code", str), list(names), f.get("signature", str, ""),
                  f.str_map("tensor_constants"), dict(defaults))


def _module(obj, where: str, depth: int) -> ModuleEntry:
    if depth > MAX_DEPTH:
        raise FormatError(f"{where}: modules nest deeper than {MAX_DEPTH}", member=MANIFEST)
    f = _Fields(obj, where)
    kind = f.get("kind", str, "script")
    attrs = []
    for i, a in enumerate(f.items("attributes", [])):
        af = _Fields(a, f"{where}.attributes[{i}]")
        if "value" not in a:
            raise FormatError(f"{af.where}: missing field 'value'", member=MANIFEST)
        attrs.append(Attribute(af.get("name", str), af.get("type", str), a["value"]))
    entry = ModuleEntry(
        name=f.get("name", str), class_name=f.get("class", str),
        original_name=f.get("original_name", str, ""), kind=kind,
        training=f.get("training", bool, False),
        parameters=[_ref(p, f"{where}.parameters[{i}]")
                    for i, p in enumerate(f.items("parameters", []))],
        buffers=[_ref(b, f"{where}.buffers[{i}]") for i, b in enumerate(f.items("buffers", []))],
        attributes=attrs,
        methods=[_method(m, f"{where}.methods[{i}]") for i, m in enumerate(f.items("methods", []))],
        submodules=[_module(s, f"{where}.submodules[{i}]", depth + 1)
                    for i, s in enumerate(f.items("submodules", []))])
    if kind not in KINDS:
        raise FormatError(f"{where}.kind: expected one of {list(KINDS)}, got {kind!r}",
                          member=MANIFEST)
    seen: set[str] = set()
    for slot in ([p.name for p in entry.parameters] + [b.name for b in entry.buffers]
                 + [a.name for a in entry.attributes] + [s.name for s in entry.submodules]):
        if slot in seen or not slot:
            raise FormatError(f"{where}: attribute name {slot!r} is empty or used twice",
                              member=MANIFEST)
        why = _bad_slot_name(slot)
        if why:
            raise FormatError(f"{where}: attribute name {slot!r}: {why}", member=MANIFEST)
        seen.add(slot)
    for meth in entry.methods:
        if not meth.name.isidentifier() or _bad_slot_name(meth.name):
            raise FormatError(f"{where}: method name {meth.name!r} is not a Python identifier "
                              f"(or is a dunder)", member=MANIFEST)
        if meth.name in seen:
            raise FormatError(f"{where}: method name {meth.name!r} is also an attribute name",
                              member=MANIFEST)
        seen.add(meth.name)
    return entry


KINDS = ("script", "trace")


def _bad_slot_name(name: str) -> str | None:
    """Why ``name`` cannot name a parameter, buffer, attribute or submodule (None if it can)."""
    if "." in name:
        return "names cannot contain '.' (it separates module paths)"
    if name.startswith("__") and name.endswith("__"):
        return "is reserved: dunder names are Python's, never a model's"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in name):
        return "control, format (bidi, zero-width) and surrogate characters are not allowed"
    return None
