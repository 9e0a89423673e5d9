"""Module code: calls of submodules and methods, super(), attributes, containers (mixed into
FunctionCompiler)."""

from __future__ import annotations

import copy
import inspect

from graphtorch.errors import ScriptError
from graphtorch.frontend.script import overloads
from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.class_types import class_type, is_script_class
from graphtorch.frontend.script.defaults import parameter_defaults
from graphtorch.frontend.script.expressions import _is_constant
from graphtorch.frontend.script.interfaces import (
    annotated_interface,
    declared_methods,
    missing_method_message,
)
from graphtorch.frontend.script.state import Lowerer
from graphtorch.frontend.script.values import BoundMethod, ModuleChoice, ModuleRef, PyObj
from graphtorch.frontend.script_module import ScriptFunction, ScriptModule, plain_value
from graphtorch.ir import types as T
from graphtorch.ir.graph import Value
from graphtorch.ir.kinds import Prim
from graphtorch.nn.container import ModuleDict, ParameterDict, ParameterList
from graphtorch.tensor import Tensor

# nn.Module's generator methods: in script, the items they yield, known while compiling
_MODULE_ITERATORS = frozenset({"modules", "children", "named_modules", "named_children",
                               "parameters", "named_parameters", "buffers", "named_buffers"})


def _member_path(root, obj) -> list[str] | None:
    """The attribute names leading from module ``root`` to ``obj`` (itself, a submodule, a
    parameter or a buffer of one), found by identity; None when none leads there."""
    for sub_name, sub in root.named_modules():
        parts = sub_name.split(".") if sub_name else []
        if sub is obj:
            return parts
        for table in (sub._parameters, sub._buffers):
            for k, t in table.items():
                if t is obj:
                    return parts + [k]
    return None


def _unwrap_fn(fn):
    return getattr(fn, "__func__", fn)


def _holds_parameters(module) -> bool:
    return isinstance(module, (ParameterList, ParameterDict))


def _children_of(module) -> dict:
    return module._parameters if _holds_parameters(module) else module._modules


class ModuleLowerer(Lowerer):
    def _check_implements(self, sub, attr: str, iface: type, pos) -> None:
        for name in declared_methods(iface):
            has = name in sub._gt_methods if isinstance(sub, ScriptModule) else \
                callable(getattr(type(sub), name, None))
            if not has:
                raise self.src.error(f"submodule '{attr}' ({type(sub).__name__}) does not "
                                     f"implement '{name}' of the interface {iface.__qualname__}",
                                     pos, "define the method (a scripted module must have "
                                     "compiled it: call it from forward or @jit.export it)")

    def call_module(self, ref: ModuleRef, method: str, e: S.Call):
        if ref.interface is not None and method not in declared_methods(ref.interface):
            msg, hint = missing_method_message(ref.interface, method)
            raise self.src.error(msg, e.pos, hint)
        if ref.is_container and method in ("items", "keys", "values") and not e.args:
            children = self.module_children(ref)
            names = [self.const(n) for n in _children_of(ref.module)]
            if method == "keys":
                return names
            if method == "values":
                return children
            return [[n, c] for n, c in zip(names, children)]
        if method in _MODULE_ITERATORS and not isinstance(ref.module, ScriptModule) or \
                method in _MODULE_ITERATORS and method not in ref.module._gt_methods:
            return self._module_members(ref, method, e)

        fn = getattr(type(ref.module), method, None) \
            if not isinstance(ref.module, ScriptModule) else None
        original = ref.module.__dict__.get("_gt_original", ref.module)
        static = inspect.getattr_static(type(original), method, None)
        if isinstance(static, staticmethod):   # self.helper(x): a plain function, no self
            return self.calls.call_python(static.__func__, e)
        if overloads.overloaded_method(type(original), method):
            return self._call_overloaded(ref, method, getattr(type(original), method), e)
        if getattr(fn, "_gt_ignore", False):
            return self.calls.python_op(getattr(ref.module, method), e)
        if getattr(fn, "_gt_unused", False):
            msg = self.const(f"{type(ref.module).__name__}.{method} was marked "
                             f"@graphtorch.jit.unused and cannot be called from script")
            self.graph.emit(Prim.RaiseException, [msg], [], {"exc": "RuntimeError"})
            ret = self.state.unit.declared_return_type(fn) or T.TENSOR   # as it declares
            return self.graph.emit(Prim.Uninitialized, [], [ret]).output
        eager = getattr(self.state.unit, "eager", {})
        if id(ref.module) in eager:     # jit.compile kept this submodule as Python
            fn = ref.module if method == "forward" else getattr(ref.module, method)
            return self.calls.python_op(fn, e,
                                        eager[id(ref.module)] if method == "forward" else None)
        args, kwargs = self.calls.args_of(e)
        ret = self.state.unit.method_return_type(ref.module, method, self.src, e.pos)
        args = self._method_arguments(ref.module, method, args, kwargs, e.pos)
        return self.graph.emit(Prim.CallMethod, [ref.value] + args, [ret],
                               {"name": method}).output

    def _call_overloaded(self, ref: ModuleRef, method: str, impl, e: S.Call) -> Value:
        """``sub.method(...)`` of an overloaded method: the matching declaration's method,
        compiled into the submodule's compiled form (overloads.py)."""
        name, fn, args, kwargs = overloads.method_specialization(
            self, ref.module, method, impl, overloads.declarations(impl), e)
        outs = self.state.unit.compile_method(ref.module, name, fn).graph.outputs
        ret = outs[0].type if len(outs) == 1 else T.TupleType(tuple(v.type for v in outs))
        args = self._method_arguments(ref.module, name, args, kwargs, e.pos, fn=fn)
        return self.graph.emit(Prim.CallMethod, [ref.value] + args, [ret],
                               {"name": name}).output

    def _method_arguments(self, module, method: str, args: list[Value], kwargs: dict,
                          pos, fn=None) -> list[Value]:
        """Positional arguments of a compiled method call: keywords placed, defaults filled,
        each coerced to the parameter's type."""

        sm = module if isinstance(module, ScriptModule) else self.state.unit.script_module(module)
        m = sm._method(method) if method in sm._gt_methods else None
        if m is None:
            return args
        params = m.graph.block.inputs[1:]
        names = list(m.arg_names)
        if len(args) > len(params):
            raise self.src.error(f"{method}() takes {len(params)} argument(s) but {len(args)} "
                                 f"were given", pos)
        vals = list(args) + [None] * (len(params) - len(args))
        for k, v in kwargs.items():
            if k not in names:
                raise self.src.error(f"{method}() got an unexpected keyword argument '{k}'",
                                     pos)
            if vals[names.index(k)] is not None:
                raise self.src.error(f"{method}() got multiple values for argument '{k}'", pos)
            vals[names.index(k)] = v
        py_fn = fn or getattr(getattr(sm, "_gt_original", None) or module, method, None)
        defaults = parameter_defaults(py_fn)
        for i, (p, name) in enumerate(zip(params, names)):
            if vals[i] is None:
                if name not in defaults:
                    raise self.src.error(f"{method}() missing required argument '{name}'", pos)
                vals[i] = self.exprs.py_constant(defaults[name], pos)
            vals[i] = self.exprs.coerce(vals[i], p.type, pos, f"argument '{name}'")
        return vals

    def call_module_choice(self, choice: ModuleChoice, method: str, e: S.Call) -> Value:
        """One prim::If per module: branch k calls module k when the index equals k."""
        args, kwargs = self.calls.args_of(e)
        if kwargs:
            raise self.src.error("keyword arguments to an indexed module call are not "
                                 "supported", e.pos, "pass them positionally")
        children = self.module_children(choice.container)
        n = len(children)
        rets = [self.state.unit.method_return_type(c.module, method, self.src, e.pos)
                for c in children]
        out_t = rets[0] if rets else T.NONE
        for r in rets[1:]:
            out_t = T.unify(out_t, r)
            if out_t is None:
                raise self.src.error(f"the modules of this container return different types "
                                     f"from {method}(), so it cannot be indexed at run time",
                                     e.pos, "iterate over it instead")
        i = choice.index
        neg = self.scalar("prim::lt", [i, self.const(0)], T.BOOL)
        i = self.loops.if_value(neg, lambda: self.scalar("prim::add", [i, self.const(n)], T.INT),
                                lambda: i)

        def branch(k: int) -> Value:
            if k == n:
                msg = self.scalar("prim::format", [self.const("index {} is out of range"),
                                                   choice.index], T.STR)
                self.graph.emit(Prim.RaiseException, [msg], [], {"exc": "IndexError"})
                return self.graph.emit(Prim.Uninitialized, [], [out_t]).output
            hit = self.scalar("prim::eq", [i, self.const(k)], T.BOOL)
            return self.loops.if_value(
                hit, lambda: self.graph.emit(Prim.CallMethod, [children[k].value] + args,
                                             [rets[k]], {"name": method}).output,
                lambda: branch(k + 1))

        return branch(0)

    def super_call(self, e: S.Call) -> Value:
        me = self.state.self_module
        if me is None:
            raise self.src.error("super() is only supported in module methods", e.pos)
        name = e.func.attr
        fn_name, py_fn = self.state.fn.name, _unwrap_fn(self.state.py_fn)
        owner = next((k for k in type(me).__mro__
                      if _unwrap_fn(k.__dict__.get(fn_name)) is py_fn), type(me))
        base_fn = None
        for klass in owner.__mro__[1:]:
            if name in klass.__dict__:
                base_fn = klass.__dict__[name]
                break
        if base_fn is None:
            raise self.src.error(f"no base class of {owner.__name__} defines '{name}'", e.pos)
        alias = f"{klass.__name__}__{name}"
        args, kwargs = self.calls.args_of(e)
        ret = self.state.unit.method_return_type(me, alias, self.src, e.pos, fn=base_fn)
        args = self._method_arguments(me, alias, args, kwargs, e.pos, fn=base_fn)
        return self.graph.emit(Prim.CallMethod, [self._env_self().value] + args, [ret],
                               {"name": alias}).output

    def _env_self(self) -> ModuleRef:
        return next(v for v in self.env.values() if isinstance(v, ModuleRef)
                    and v.module is self.state.self_module)

    def module_attribute(self, ref: ModuleRef, attr: str, pos):
        m = ref.module
        if attr in m._parameters or attr in m._buffers:
            t = m._parameters.get(attr, m._buffers.get(attr))
            if t is None:
                return self.const(None)
            return self.graph.emit(Prim.GetAttr, [ref.value], [T.type_of_value(t)],
                                   {"name": attr}).output
        if attr in m._modules:
            sub = m._modules[attr]
            if sub is None:
                return self.const(None)
            iface = annotated_interface(type(m), attr)
            if iface is not None:
                self._check_implements(sub, attr, iface, pos)
            out = self.graph.emit(Prim.GetAttr, [ref.value], [self.state.unit.module_type(sub)],
                                  {"name": attr}).output
            return ModuleRef(out, sub, iface)
        if attr == "training":
            return self.graph.emit(Prim.GetAttr, [ref.value], [T.BOOL], {"name": attr}).output
        if attr == "_modules":
            return ref      # self._modules.values()/items() iterate the children statically
        if attr == "_flat_weights" and "_flat_weights_names" in m.__dict__:
            return self._rnn_flat_weights(ref)
        if attr in self.state.unit.assigned_attributes.get(id(m), ()):
            return self._assigned_attribute(ref, attr)
        if isinstance(m, ScriptModule) and attr not in m.__dict__:
            out = self._compiled_module_attribute(ref, attr, pos)
            if out is not None:
                return out
        if attr in getattr(m, "__dict__", {}):
            val = m.__dict__[attr]
            if isinstance(val, Tensor):   # a plain tensor attribute: read at run time
                return self._tensor_attribute(ref, attr, val)

            if _is_constant(val) or isinstance(val, list) and all(
                    isinstance(x, (int, float)) for x in val):
                return self.exprs.py_constant(val, pos) if not isinstance(val, list) else \
                    self.const(list(val))
            if inspect.isfunction(val) and (val.__module__ or "").startswith("graphtorch."):
                return PyObj(val)   # e.g. a Transformer layer's activation (F.relu): inlined
            if isinstance(val, ScriptFunction):
                return PyObj(val)   # self.fn(x): a call of the compiled function
            if is_script_class(type(val)):
                return self._object_attribute(ref, attr, val)
            raise self.src.error(f"module attribute '{attr}' has a type script does not "
                                 f"support ({type(val).__name__})", pos,
                                 "mark the method using it @graphtorch.jit.ignore")
        if callable(getattr(type(m), attr, None)):
            return BoundMethod(ref, attr)

        if hasattr(type(m), attr) and _is_constant(getattr(type(m), attr)):
            return self.exprs.py_constant(getattr(type(m), attr), pos)   # a class-level constant
        prop = getattr(type(m), attr, None)
        if isinstance(prop, property) and prop.fget is not None and \
                not isinstance(m, ScriptModule):
            return self.property_call(ref, attr, prop.fget, "getter", [], pos)
        if isinstance(prop, property):
            hint = f"the property '{attr}' has no getter script can compile"
        else:
            hint = (f"script sees the attributes set in __init__ (self.{attr} = ...), the "
                    f"submodules, parameters, buffers and methods")
        raise self.src.error(f"module '{type(m).__name__}' has no attribute '{attr}'", pos, hint)

    def property_call(self, ref: ModuleRef, attr: str, fn, role: str, args: list[Value],
                      pos) -> Value:
        """``self.attr`` / ``self.attr = v`` of a module ``@property``: its getter / setter
        compiled as the method ``__<attr>_<role>`` (``prim::CallMethod``); a getter marked
        ``@graphtorch.jit.unused`` raises when reached."""
        m = ref.module
        if getattr(fn, "_gt_unused", False):
            msg = self.const(f"{type(m).__name__}.{attr} was marked @graphtorch.jit.unused and "
                             f"cannot be used from script")
            self.graph.emit(Prim.RaiseException, [msg], [], {"exc": "RuntimeError"})
            return self.graph.emit(Prim.Uninitialized, [], [T.TENSOR]).output
        name = f"__{attr}_{role}"
        method = self.state.unit.compile_method(m, name, fn)
        vals = [self.exprs.coerce(a, v.type, pos, f"the value of '{attr}'")
                for a, v in zip(args, method.graph.inputs[1:])]
        if len(vals) != len(method.graph.inputs) - 1:
            raise self.src.error(f"the {role} of property '{attr}' takes "
                                 f"{len(method.graph.inputs) - 1} argument(s)", pos)
        out = method.graph.outputs[0].type
        return self.graph.emit(Prim.CallMethod, [ref.value] + vals, [out],
                               {"name": name}).output

    def assign_plain_attribute(self, ref: ModuleRef, attr: str, value: Value, pos) -> bool:
        """``self.attr = value`` of a plain attribute (a number, str, None, or a list or dict
        of those): it becomes a run-time attribute of the compiled module, which holds its own
        copy (the Python module's value is not changed, as in TorchScript). False when ``attr``
        is no such attribute."""
        m = ref.module
        prop = getattr(type(m), attr, None)
        if isinstance(prop, property) and prop.fset is not None and \
                not isinstance(m, ScriptModule):
            self.property_call(ref, attr, prop.fset, "setter", [value], pos)
            return True
        val = m.__dict__.get(attr, _NOT_SET)
        if is_script_class(type(val)):   # an object: always read at run time (its own type)
            self._object_attribute(ref, attr, val)
            v = self.exprs.coerce(value, class_type(type(val)), pos, f"attribute '{attr}'")
            self.graph.emit(Prim.SetAttr, [ref.value, v], [], {"name": attr})
            return True
        if val is _NOT_SET or not plain_value(val):
            return False
        assigned = self.state.unit.assigned_attributes.setdefault(id(m), set())
        if attr not in assigned:   # earlier reads were constants: compile the modules again
            assigned.add(attr)
            raise MutableAttribute(f"the attribute '{attr}' of module {type(m).__name__} is "
                                   f"assigned in script; compile the module again")
        t = self._attribute_type(ref, attr)
        v = self.exprs.coerce(value, t, pos, f"attribute '{attr}'")
        self.graph.emit(Prim.SetAttr, [ref.value, v], [], {"name": attr})
        return True

    def _attribute_type(self, ref: ModuleRef, attr: str) -> T.Type:
        val = self.state.unit.script_module(ref.module)._gt_constants[attr] \
            if attr in self.state.unit.script_module(ref.module)._gt_constants \
            else ref.module.__dict__[attr]
        t = T.type_of_value(val)
        if isinstance(t, T.ListType) and t.elem == T.ANY:
            return T.ListType(T.TENSOR)
        return t

    def _assigned_attribute(self, ref: ModuleRef, attr: str) -> Value:
        """A read of an assigned plain attribute: ``prim::GetAttr`` of the compiled module's
        own copy (lists and dicts copied once, when the module is compiled)."""
        sm = self.state.unit.script_module(ref.module)
        if attr not in sm._gt_constants:
            val = ref.module.__dict__[attr]
            sm._set_constant(attr, copy.deepcopy(val) if isinstance(val, (list, dict)) else val)
        return self.graph.emit(Prim.GetAttr, [ref.value], [self._attribute_type(ref, attr)],
                               {"name": attr}).output

    def _object_attribute(self, ref: ModuleRef, attr: str, val) -> Value:
        """``self.obj``, an object of a script class: the compiled module holds the very
        object (a constant attribute read at run time, so every change made to it through any
        reference is seen), and the graph reads it with ``prim::GetAttr``."""
        sm = self.state.unit.script_module(ref.module)
        if sm._gt_constants.get(attr) is not val:
            sm._set_constant(attr, val)
        return self.graph.emit(Prim.GetAttr, [ref.value], [class_type(type(val))],
                               {"name": attr}).output

    def _module_members(self, ref: ModuleRef, method: str, e: S.Call) -> list:
        """``self.named_modules()``, ``children()``, ``buffers()`` ... (Python generators): the
        items eager Python yields, known while compiling (a loop over them unrolls); each
        module or tensor read through its chain of attributes, a name a constant string."""
        args, kwargs = self.calls.args_of(e)
        if not all(v.is_constant for v in [*args, *kwargs.values()]):
            raise self.src.error(f"the arguments of {method}() must be constants in script",
                                 e.pos)
        consts = [self.graph.constant_value(v) for v in args]
        kw = {k: self.graph.constant_value(v) for k, v in kwargs.items()}
        try:
            items = list(getattr(ref.module, method)(*consts, **kw))
        except TypeError as err:
            raise self.src.error(f"{method}(): {err}", e.pos) from None
        named = method.startswith("named_")
        out = []
        for item in items:
            name, obj = item if named else (None, item)
            path = _member_path(ref.module, obj)
            if path is None:
                raise self.src.error(f"{method}() yields an object script cannot reach "
                                     f"through attributes", e.pos)
            value = self._attribute_chain(ref, path)
            out.append([self.const(name), value] if named else value)
        return out

    def _attribute_chain(self, ref: ModuleRef, path: list[str]):
        """``ref.a.b.c`` of submodules, ending at a submodule (a ModuleRef) or a tensor."""
        v, m = ref.value, ref.module
        for part in path:
            if part in m._modules:
                m = m._modules[part]
                v = self.graph.emit(Prim.GetAttr, [v], [self.state.unit.module_type(m)],
                                    {"name": part}).output
            else:
                t = m._parameters.get(part, m._buffers.get(part))
                return self.graph.emit(Prim.GetAttr, [v], [T.type_of_value(t)],
                                       {"name": part}).output
        return ModuleRef(v, m)

    def _tensor_attribute(self, ref: ModuleRef, attr: str, val) -> Value:
        """``self.t``, a tensor that is neither a parameter nor a buffer: the compiled module
        holds the very tensor (an attribute read at run time, as TorchScript's tensor
        attributes: a new tensor assigned to it from Python is seen by the next call)."""
        sm = self.state.unit.script_module(ref.module)
        if sm._gt_constants.get(attr) is not val:
            sm._set_constant(attr, val)
        return self.graph.emit(Prim.GetAttr, [ref.value], [T.TENSOR], {"name": attr}).output

    def _compiled_module_attribute(self, ref: ModuleRef, attr: str, pos):
        """``self.inner.x`` of an already compiled module: its run-time attributes (assigned in
        its code, objects, tensors) by ``prim::GetAttr``; a plain attribute of the module it was
        compiled from as that module's value (None: neither)."""
        m = ref.module
        consts = m.__dict__.get("_gt_constants") or {}
        if attr in consts:
            val = consts[attr]
            if isinstance(val, Tensor):
                return self._tensor_attribute(ref, attr, val)
            if is_script_class(type(val)):
                return self._object_attribute(ref, attr, val)
            t = T.type_of_value(val)
            if isinstance(t, T.ListType) and t.elem == T.ANY or t == T.ANY:
                return None
            return self.graph.emit(Prim.GetAttr, [ref.value], [t], {"name": attr}).output
        original = m.__dict__.get("_gt_original")
        if original is None or attr not in vars(original) or attr.startswith("__"):
            return None
        val = vars(original)[attr]
        if isinstance(val, Tensor):
            return self._tensor_attribute(ref, attr, val)
        if _is_constant(val):
            return self.exprs.py_constant(val, pos)
        return None

    def _rnn_flat_weights(self, ref: ModuleRef) -> Value:
        """A recurrent layer's weights as a compile-time tuple: one tuple per layer, one per
        direction in it, each ``(w_ih, w_hh, b_ih, b_hh, w_hr)`` with None for a missing one."""
        m = ref.module
        directions = 2 if m.bidirectional else 1
        layers = []
        for layer in range(m.num_layers):
            dirs = []
            for d in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if d == 1 else "")
                ws = []
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"):
                    p = m._parameters.get(kind + suffix)
                    ws.append(self.const(None) if p is None else self.graph.emit(
                        Prim.GetAttr, [ref.value], [T.type_of_value(p)],
                        {"name": kind + suffix}).output)
                dirs.append(self.tuple_of(ws))
            layers.append(self.tuple_of(dirs))
        return self.tuple_of(layers)

    def tuple_of(self, values: list[Value]) -> Value:
        return self.graph.emit(Prim.TupleConstruct, values,
                               [T.TupleType([v.type for v in values])]).output

    def container_length(self, ref: ModuleRef) -> int:
        """``len(<container>)`` as eager Python computes it (a subclass's ``__len__`` too)."""
        return len(ref.module)

    def container_contains(self, ref: ModuleRef, key: Value, pos) -> Value:
        """``key in <container>``: a constant key is tested as eager Python tests it (a
        subclass's ``__contains__`` too); a run-time key against the keys of a ModuleDict /
        ParameterDict."""
        if key.is_constant:
            return self.const(self.graph.constant_value(key) in ref.module)
        own = next((k for k in type(ref.module).__mro__ if "__contains__" in vars(k)), None)
        if not isinstance(ref.module, (ModuleDict, ParameterDict)) or \
                own not in (ModuleDict, ParameterDict):
            raise self.src.error(f"'in' on a {type(ref.module).__name__} with a key known only "
                                 f"at run time is not supported in script", pos,
                                 "test a string literal, or keep the keys in a list")
        keys = self.const(list(_children_of(ref.module)), T.ListType(T.STR))
        return self.scalar("prim::in", [key, keys], T.BOOL)

    def iteration_items(self, ref: ModuleRef) -> list:
        """What ``for x in <container>`` binds, as Python: a ModuleDict / ParameterDict gives
        its keys (constant strings), a list-like container its children."""
        if isinstance(ref.module, (ModuleDict, ParameterDict)):
            return [self.const(n) for n in _children_of(ref.module)]
        return self.module_children(ref)

    def module_children(self, ref: ModuleRef) -> list:
        if _holds_parameters(ref.module):     # ParameterList / ParameterDict: their tensors
            return [self.graph.emit(Prim.GetAttr, [ref.value], [T.type_of_value(p)],
                                    {"name": name}).output
                    for name, p in ref.module._parameters.items()]
        out = []
        for name, sub in ref.module._modules.items():
            v = self.graph.emit(Prim.GetAttr, [ref.value], [self.state.unit.module_type(sub)],
                                {"name": name}).output
            out.append(ModuleRef(v, sub))
        return out

    def module_slice(self, ref: ModuleRef, index: S.Slice, pos) -> list:
        """``self.layers[lo:hi:step]`` with constant bounds: a compile-time list of its items
        (iterated, indexed with constants, or called in an unrolled loop)."""
        bounds = []
        for x in (index.lower, index.upper, index.step):
            v = self.exprs.lower_value(x) if x is not None else self.const(None)
            if not v.is_constant:
                raise self.src.error(f"a slice of a {type(ref.module).__name__} needs constant "
                                     f"bounds in script", pos, "slice with integer literals")
            bounds.append(self.graph.constant_value(v))
        items = self.module_children(ref)
        try:
            return items[slice(*bounds)]
        except (TypeError, ValueError) as err:
            raise self.src.error(f"bad slice of a {type(ref.module).__name__}: {err}",
                                 pos) from None

    def static_subscript(self, items: list, index: S.Expr, pos):
        """``items[k]`` or ``items[lo:hi:step]`` of compile-time items (a container's slice,
        an item of ``ModuleDict.items()``): the key must be known while compiling."""
        if isinstance(index, S.Slice):
            bounds = [self._static_int(x, "slice bound", pos) for x in
                      (index.lower, index.upper, index.step)]
            if bounds[2] == 0:
                raise self.src.error("slice step cannot be zero", pos)
            return items[slice(*bounds)]
        k = self._static_int(index, "index", pos)
        if k is None or not -len(items) <= k < len(items):
            raise self.src.error(f"index {k} is out of range for {len(items)} compile-time "
                                 f"items (a slice of a module container)", pos)
        return items[k]

    def _static_int(self, x: S.Expr | None, what: str, pos) -> int | None:
        if x is None:
            return None
        v = self.exprs.lower_value(x)
        val = self.graph.constant_value(v) if v.is_constant else None
        if not isinstance(val, int) or isinstance(val, bool):
            raise self.src.error(f"the {what} of a slice of a module container must be an "
                                 f"integer known while compiling", pos,
                                 "use integer literals, or iterate with 'for m in ...'")
        return val

    def module_item(self, ref: ModuleRef, index: S.Expr, pos) -> ModuleRef | ModuleChoice:
        iv = self.exprs.lower_value(index)
        if not iv.is_constant:
            if isinstance(ref.module, ModuleDict) or iv.type != T.INT:
                raise self.src.error("modules in a ModuleDict can only be indexed by a constant "
                                     "key", pos, "iterate with 'for name, m in "
                                     "self.layers.items()' or index with a string literal")
            return ModuleChoice(ref, iv)
        key = self.graph.constant_value(iv)
        table = _children_of(ref.module)
        children = list(table.items())
        what = "parameters" if _holds_parameters(ref.module) else "modules"
        if isinstance(key, int) and not isinstance(key, bool):
            if not -len(children) <= key < len(children):
                raise self.src.error(f"index {key} is out of range for a "
                                     f"{type(ref.module).__name__} of {len(children)} {what}",
                                     pos)
            name, sub = children[key]
        elif isinstance(key, str) and key in table:
            name, sub = key, table[key]
        else:
            raise self.src.error(f"{type(ref.module).__name__} has no key {key!r} (its keys: "
                                 f"{', '.join(map(repr, table)) or 'none'})", pos)
        if _holds_parameters(ref.module):     # a ParameterList / ParameterDict: the tensor
            return self.graph.emit(Prim.GetAttr, [ref.value], [T.type_of_value(sub)],
                                   {"name": name}).output
        v = self.graph.emit(Prim.GetAttr, [ref.value], [self.state.unit.module_type(sub)],
                            {"name": name}).output
        return ModuleRef(v, sub)


_NOT_SET = object()


class MutableAttribute(ScriptError):
    """A plain module attribute was found assigned while compiling: its earlier reads were
    compiled as constants, so ``ScriptUnit.script_module`` compiles the modules again with it
    read at run time (escaping elsewhere, it is a refusal with this message)."""
