"""Saving: a ScriptModule (or ScriptFunction) tree -> archive members -> deterministic bytes."""

from __future__ import annotations

import numpy as np

import graphtorch
from graphtorch.archive import tensor_file
from graphtorch.archive.graph_checks import ir_size_problem
from graphtorch.archive.manifest import (
    MANIFEST,
    TENSORS,
    Attribute,
    Manifest,
    Method,
    ModuleEntry,
    TensorRef,
)
from graphtorch.archive.source_paths import portable_graph
from graphtorch.archive.values import encode_value
from graphtorch.archive.zip_container import write_archive
from graphtorch.errors import GraphtorchError, UnsupportedError
from graphtorch.frontend.script_module import (
    ScriptFunction,
    ScriptModule,
    TracedModule,
    register_archive_writer,
)
from graphtorch.ir.compilation_unit import resolve_function
from graphtorch.ir.graph import TensorRef as ConstRef
from graphtorch.ir.kinds import Prim
from graphtorch.ir.printer import format_attr
from graphtorch.ir.types import ClassType, type_of_value
from graphtorch.ir.verifier import verify
from graphtorch.tensor import Tensor


def save(obj, path_or_file) -> None:
    """Write ``obj`` (a ScriptModule or ScriptFunction) as a .gt archive.

    A path is replaced atomically: readers and a crash mid-save see the old file or the new
    one, never a part of either; no temporary file outlives the save (one left by a killed
    process is removed by the next save into that directory); an overwritten file keeps its
    permission bits; a failure to write raises :class:`~graphtorch.errors.SaveError` (an
    OSError) naming the path. Everything is checked before the first byte is written.
    """
    write_archive(archive_members(obj), path_or_file)


def archive_members(obj) -> dict[str, bytes]:
    return _Saver().run(obj)


def code_member(module_path: str, method: str) -> str:
    parts = module_path.split(".") if module_path else []
    return "/".join(["code", *parts, f"{method}.gtir"])


def function_member(qualified_name: str) -> str:
    return f"functions/{qualified_name}.gtir"


class _Saver:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.key_of: dict[int, str] = {}
        self.keep_alive: list = []       # ids stay unique only while the objects live
        self.members: dict[str, bytes] = {}
        self.functions: dict[str, Method] = {}
        self.pending: list[tuple[str, object]] = []   # (qualified name, ScriptFunction)
        self.function_objects: dict[str, object] = {}

    def run(self, obj) -> dict[str, bytes]:
        root, entry = None, None
        if isinstance(obj, ScriptModule):
            root = self.module(obj, "", "")
        elif isinstance(obj, ScriptFunction):
            entry = obj.qualified_name
            self.pending.append((entry, obj))
        else:
            raise UnsupportedError(f"graphtorch.jit.save expects a ScriptModule or ScriptFunction "
                                   f"(from jit.script or jit.trace), got {type(obj).__name__}")
        self.save_functions()
        manifest = Manifest(producer_version=graphtorch.__version__, root=root,
                            functions=[self.functions[k] for k in sorted(self.functions)],
                            entry_function=entry)
        self.members[MANIFEST] = manifest.dumps()
        self.members[TENSORS] = tensor_file.encode(self.arrays)
        return self.members

    def tensor_key(self, t, key: str) -> str:
        """Store ``t`` under ``key`` unless this very tensor is stored already (tied weights)."""
        if id(t) in self.key_of:
            return self.key_of[id(t)]
        self.key_of[id(t)] = key
        self.keep_alive.append(t)
        self.arrays[key] = t.detach()._host()
        return key

    def module(self, m, name: str, path: str) -> ModuleEntry:
        entry = ModuleEntry(name=name, class_name=m._gt_type, original_name=m.original_name,
                            kind="trace" if isinstance(m, TracedModule) else "script",
                            training=bool(m.training))
        prefix = f"{path}." if path else ""
        none_slots = []
        for pname, p in m._parameters.items():
            if p is None:
                none_slots.append(pname)
                continue
            key = self.tensor_key(p, prefix + pname)
            entry.parameters.append(TensorRef(pname, key, requires_grad=p.requires_grad))
        non_persistent = getattr(m, "_non_persistent_buffers_set", set())
        for bname, b in m._buffers.items():
            if b is None:
                none_slots.append(bname)
                continue
            key = self.tensor_key(b, prefix + bname)
            entry.buffers.append(TensorRef(bname, key, persistent=bname not in non_persistent))
        consts = list(m._gt_constants.items()) + [(n, None) for n in none_slots]
        for aname, value in consts:
            where = f"attribute {m.original_name}.{aname}"
            tagged = encode_value(value, lambda t, a=aname: self.tensor_key(t, prefix + a), where)
            entry.attributes.append(Attribute(aname, _type_text(value), tagged))
        for mname, method in m._gt_methods.items():
            entry.methods.append(self.method(method.graph, mname, method.arg_names,
                                             code_member(path, mname),
                                             f"{m.original_name}.{mname}"))
        for sname, sub in m._modules.items():
            if sub is None:
                continue
            if not isinstance(sub, ScriptModule):
                raise UnsupportedError(
                    f"cannot save {m.original_name}: submodule {sname!r} "
                    f"({type(sub).__name__}) runs eagerly (it was not compiled); only compiled "
                    f"modules can be saved — script or trace it, or remove it")
            entry.submodules.append(self.module(sub, sname, prefix + sname))
        return entry

    def method(self, graph, name: str, arg_names, member: str, what: str) -> Method:
        _refuse_python_ops(graph, what)
        _refuse_unverifiable(graph, what)
        constants = {}
        for node in graph.walk():
            if node.kind == Prim.CallFunction.value:   # resolved in the graph's own unit
                self.pending.append((node.attrs["name"], resolve_function(graph,
                                                                          node.attrs["name"])))
            value = node.attrs.get("value") if node.kind == Prim.Constant.value else None
            if isinstance(value, ConstRef) and value.name not in constants:
                t = graph.tensor_constants[value.name]
                constants[value.name] = self.tensor_key(t, f"{member}:{value.name}")
        text = str(portable_graph(graph))
        problem = ir_size_problem(text)
        if problem:
            raise UnsupportedError(f"cannot save {what}: {problem}; a loader would refuse "
                                   f"the archive")
        self.members[member] = text.encode("utf-8")
        arg_names = list(arg_names)
        params = graph.inputs[len(graph.inputs) - len(arg_names):]
        defaults = getattr(graph, "defaults", None) or {}
        ins = ", ".join(f"{n} : {v.type}" + (f" = {default_text(defaults[n])}"
                                              if n in defaults else "")
                        for n, v in zip(arg_names, params))
        outs = ", ".join(str(v.type) for v in graph.outputs)
        return Method(name, member, arg_names, f"{name}({ins}) -> ({outs})",
                      dict(sorted(constants.items())),
                      self.defaults(graph, arg_names, member, what))

    def defaults(self, graph, arg_names: list[str], member: str, what: str) -> dict:
        """Tagged default values of the arguments (``graph.defaults``, set by the compiler)."""
        out = {}
        for aname, value in (getattr(graph, "defaults", None) or {}).items():
            if aname not in arg_names:
                raise UnsupportedError(f"cannot save {what}: graph.defaults names {aname!r}, "
                                       f"which is not one of its arguments {arg_names}")
            out[aname] = encode_value(
                value, lambda t, a=aname: self.tensor_key(t, f"{member}:default:{a}"),
                f"the default value of argument {aname!r} of {what}")
        return dict(sorted(out.items()))

    def save_functions(self) -> None:
        while self.pending:
            qname, fn = self.pending.pop()
            seen = self.function_objects.setdefault(qname, fn)
            if seen is not fn:
                raise UnsupportedError(f"cannot save: two different functions are named "
                                       f"{qname!r} (from different compilation units)")
            if qname in self.functions:
                continue
            arg_names = [v.name for v in fn.graph.inputs]
            self.functions[qname] = self.method(fn.graph, qname, arg_names,
                                                function_member(qname), qname)


def default_text(value) -> str:
    """A default value as the signature shows it: Python literals, tensors by dtype and shape."""
    if isinstance(value, Tensor):
        return f"<tensor {value.dtype.name}{list(value.shape)}>"
    return repr(value)


def _refuse_unverifiable(graph, what: str) -> None:
    """Load verifies every graph; an archive it would refuse is not written in the first place."""
    try:
        verify(graph)
    except GraphtorchError as e:
        first = str(e).splitlines()[0]
        raise UnsupportedError(f"cannot save {what}: its graph does not verify, so the archive "
                               f"could not be loaded ({first}); this is a bug of the compiler "
                               f"that made the graph, please report it") from e


def _unarchived(t) -> bool:
    """Script Enum and jit.interface types (frontend/script/enums.py, interfaces.py), and
    objects of script classes (classes.py: their class is Python code), anywhere in ``t``."""
    text = str(t)
    return "Enum<" in text or "Interface<" in text or _holds_object(t)


def _holds_object(t) -> bool:
    if isinstance(t, ClassType):
        return t.py_class is not None
    inner = getattr(t, "elems", None) or getattr(t, "members", None) or \
        [x for x in (getattr(t, "elem", None), getattr(t, "key", None),
                     getattr(t, "value", None)) if x is not None]
    return any(_holds_object(x) for x in inner)


def _refuse_unwritable_values(graph, what: str) -> None:
    """Constants IR text cannot write, and Enum / interface values (not archived)."""
    for v in graph.block.inputs:
        if _unarchived(v.type):
            raise UnsupportedError(f"cannot save {what}: its argument {v.name} is a {v.type} "
                                   f"(Enum and interface values are not archived, nor objects "
                                   f"of script classes); run it without saving")
    for node in graph.walk():
        value = node.attrs.get("value") if node.kind == Prim.Constant.value else None
        bad = [o for o in node.outputs if _unarchived(o.type)]
        if bad or "<opaque:" in format_attr(value):
            where = f" (at {node.source})" if node.source is not None else ""
            shown = f"a {bad[0].type}" if bad else f"a constant {value!r}"
            raise UnsupportedError(f"cannot save {what}: it computes {shown}{where}, which "
                                   f"archives cannot hold (Enum and interface values are not "
                                   f"archived, nor objects of script classes); run it without "
                                   f"saving")


def _refuse_python_ops(graph, what: str) -> None:
    _refuse_unwritable_values(graph, what)
    for node in graph.walk():
        if node.kind == Prim.PythonOp.value:
            fn = node.attrs.get("fn")
            qualname = getattr(fn, "__qualname__", None)
            fname = (f"{getattr(fn, '__module__', '?')}.{qualname}" if qualname
                     else node.attrs.get("name", "<unknown>"))
            where = f" (at {node.source})" if node.source is not None else ""
            function = getattr(fn, "autograd_function", None)
            if function is not None:
                raise UnsupportedError(
                    f"cannot save {what}: it applies the custom autograd.Function "
                    f"{function.__module__}.{function.__qualname__}{where}, whose forward and "
                    f"backward are Python code (prim::PythonOp), and archives never hold Python "
                    f"code; run the module without saving it, or replace the Function by "
                    f"graphtorch ops")
            raise UnsupportedError(
                f"cannot save {what}: it calls the Python function {fname}{where} through an "
                f"eager fallback (prim::PythonOp), and archives never hold Python code; make "
                f"the function scriptable, or run the module without saving it")


def _type_text(value) -> str:
    return str(type_of_value(value))


# ScriptModule.save / ScriptFunction.save (frontend, a layer below) write through this module
register_archive_writer(save)
