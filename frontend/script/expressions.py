"""Expressions -> IR values (the ExpressionLowerer collaborator, see state.py)."""

from __future__ import annotations

import builtins

from graphtorch import device, dtype
from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.class_types import is_script_class, script_class_of
from graphtorch.frontend.script.enums import (
    enum_class,
    enum_type,
    is_enum_class,
    is_enum_member,
    members,
    value_type,
)
from graphtorch.frontend.script.interfaces import interface_class
from graphtorch.frontend.script.language import jit_isinstance
from graphtorch.frontend.script.named_tuples import fields_of
from graphtorch.frontend.script.state import Lowerer
from graphtorch.frontend.script.values import BoundMethod, ModuleRef, PyObj, Undefined
from graphtorch.ir import types as T
from graphtorch.ir.graph import Value
from graphtorch.ir.kinds import Prim
from graphtorch.layout import TAG_CODES, layout, memory_format

# Python operator -> (registry op for tensors, prim kind for scalars)
BINARY = {"+": ("add", "prim::add"), "-": ("sub", "prim::sub"), "*": ("mul", "prim::mul"),
          "/": ("div", "prim::div"), "//": ("floor_divide", "prim::floordiv"),
          "%": ("remainder", "prim::mod"), "**": ("pow", "prim::pow"),
          "@": ("matmul", None), "&": ("bitwise_and", "prim::bitand"),
          "|": ("bitwise_or", "prim::bitor"), "^": ("bitwise_xor", "prim::bitxor"),
          "<<": ("bitwise_left_shift", "prim::lshift"),
          ">>": ("bitwise_right_shift", "prim::rshift")}
COMPARE = {"==": ("eq", "prim::eq"), "!=": ("ne", "prim::ne"), "<": ("lt", "prim::lt"),
           "<=": ("le", "prim::le"), ">": ("gt", "prim::gt"), ">=": ("ge", "prim::ge")}
NUMERIC = (T.IntType, T.FloatType, T.BoolType, T.NumberType, T.ComplexType)
# Deeper nesting is refused with a caret, well before Python's recursion limit could be reached.
MAX_EXPR_DEPTH = 100


_ATTRIBUTE_HINT = ("Tensor attributes in script: shape, dtype, device, ndim, T, mT, grad, "
                   "data, requires_grad, is_cuda, is_leaf")


def _operand_hint(a: T.Type, b: T.Type) -> str:
    if isinstance(a, T.OptionalType) or isinstance(b, T.OptionalType):
        return "it may be None here: test it first ('if value is not None:') to refine it"
    return "convert one side (int(x), float(x), str(x)) so both have types the operator takes"


def is_tensor(t: T.Type) -> bool:
    return isinstance(t, T.TensorType)


class ExpressionLowerer(Lowerer):
    """Expressions: ``expr(e)`` compiles one (to a Value or a compile-time object such as a
    module or a Python object), ``expr_value(e)`` to a Value; ``condition`` / ``static_condition``
    compile tests; ``as_value`` / ``coerce`` convert what an expression gave."""

    # --- conversions ------------------------------------------------------------------------------
    def as_value(self, v, pos) -> Value:
        if isinstance(v, Value):
            return v
        if isinstance(v, Undefined):
            raise self.src.error(f"'{v.name}' may be undefined here: {v.why}", pos,
                                 "assign it before the if/loop, on every path")
        if isinstance(v, PyObj) and _is_constant(v.obj):
            return self.py_constant(v.obj, pos)
        if isinstance(v, PyObj) and isinstance(v.obj, (layout, memory_format)):
            return self.const(TAG_CODES[v.obj._name])   # an int, as in TorchScript
        if isinstance(v, PyObj) and is_enum_class(v.obj):
            # NOTE: iterated, len() or `in`: the list of its members, in definition order
            return self.const(members(v.obj), T.ListType(enum_type(v.obj)))
        if isinstance(v, ModuleRef):
            return v.value
        if isinstance(v, list):
            # NOTE: compile-time items (a module container's slice, ModuleDict.items()) used
            # as a value: a tuple of them, as TorchScript makes of its sugared tuples
            vals = [self.as_value(x, pos) for x in v]
            return self.graph.emit(Prim.TupleConstruct, vals,
                                   [T.TupleType(tuple(x.type for x in vals))]).output
        if isinstance(v, BoundMethod) and isinstance(v.receiver, Value):
            t = v.receiver.type
            hint = _ATTRIBUTE_HINT if is_tensor(t) else \
                "it may be None here: test it first ('if value is not None:'), or copy it to " \
                "a local that the test refines" if isinstance(t, T.OptionalType) else \
                "check the attribute's name and the value's type"
            raise self.src.error(f"a value of type {t} has no attribute '{v.name}' in script "
                                 f"(if it is a method, call it)", pos, hint)
        what = getattr(v, "obj", v)
        if isinstance(v, PyObj) and is_script_class(type(v.obj)):
            raise self.src.error(f"cannot use the global object {describe(what)} in script "
                                 f"(objects of script classes are values made in script or "
                                 f"passed in)", pos, "pass the object in as an argument")
        raise self.src.error(f"cannot use {describe(what)} as a value in script", pos,
                             "script values are tensors, numbers, strings, lists, tuples, dicts "
                             "and None")

    def py_constant(self, obj, pos) -> Value:
        if is_enum_member(obj):     # before int/str: an IntEnum member is an int too
            return self.const(obj, enum_type(type(obj)))
        if isinstance(obj, complex):   # NOTE: built at run time: IR text has no complex literal
            return self.scalar("prim::complex", [self.const(obj.real), self.const(obj.imag)],
                               T.COMPLEX)
        if isinstance(obj, tuple):
            vals = [self.py_constant(x, pos) for x in obj]
            return self.graph.emit(Prim.TupleConstruct, vals,
                                   [T.TupleType(tuple(v.type for v in vals))]).output
        return self.const(obj)

    def lower_value(self, e: S.Expr, expected: T.Type | None = None) -> Value:
        return self.as_value(self.lower(e, expected), e.pos)

    def expect(self, v: Value, t: T.Type, pos, what: str) -> None:
        if not T.is_subtype(v.type, t) and not (t == T.FLOAT and v.type == T.INT):
            raise self.src.error(f"{what} must be {t}, but got {v.type}", pos)

    def coerce(self, v: Value, t: T.Type, pos, what: str) -> Value:
        """``v`` as type ``t`` (int -> float is implicit), or a ScriptError."""
        if T.is_subtype(v.type, t):
            inner = t.elem if isinstance(t, T.OptionalType) else t
            if v.type != t and isinstance(inner, T.UnionType):
                # NOTE: a value declared as a Union holds its declared type, so branches that
                # assign different members join there (and isinstance refines it again)
                return self.graph.emit(Prim.unchecked_cast, [v], [t]).output
            return v
        if t == T.FLOAT and v.type in (T.INT, T.BOOL):
            return self.scalar("prim::float", [v], T.FLOAT)
        if isinstance(t, T.ListType) and isinstance(v.type, T.ListType) and \
                v.type.elem == T.ANY:
            return v    # an empty list literal takes the expected element type
        if isinstance(t, T.TensorType) and isinstance(v.type, T.TensorType):
            return v
        if script_class_of(v.type) is not None and interface_class(t) is not None:
            return self.classes.as_interface(v, t, pos)
        raise self.src.error(f"{what} is declared as {t}, but the value has type {v.type}",
                             pos, "convert the value, or declare the type it has")

    # --- dispatch ---------------------------------------------------------------------------------
    def lower(self, e: S.Expr, expected: T.Type | None = None):
        depth = self.state.expr_depth
        if depth >= MAX_EXPR_DEPTH:
            raise self.src.error(f"expression nested more than {MAX_EXPR_DEPTH} levels deep",
                                 e.pos, "split it into several statements with named parts")
        self.state.expr_depth = depth + 1
        try:
            with self.graph.source(self.loc(e.pos)):
                handler = self.parts.expr_handlers.get(type(e).__name__)
                if handler is None:
                    raise AttributeError(f"'FunctionCompiler' object has no attribute "
                                         f"'expr_{type(e).__name__}'")
                return handler(e, expected)
        finally:
            self.state.expr_depth = depth

    def expr_Constant(self, e, expected):
        if e.value is Ellipsis:
            raise self.src.error("... (Ellipsis) is only supported in a tensor index in script",
                                 e.pos, "write the indices explicitly")
        return self.py_constant(e.value, e.pos)

    def expr_Name(self, e, expected):
        if e.id in self.env:
            v = self.env[e.id]
            if isinstance(v, Undefined):
                if v.error is not None:
                    raise v.error
                raise self.src.error(f"'{e.id}' may be undefined here: {v.why}", e.pos,
                                     "assign it before the if/loop, on every path")
            return v
        try:
            obj = self.state.lookup_global(e.id)
        except KeyError:
            raise self.src.error(f"name '{e.id}' is not defined", e.pos,
                                 "script resolves names from the function's arguments, locals, "
                                 "closure and module globals") from None
        if _is_constant(obj):
            return self.py_constant(obj, e.pos)
        return PyObj(obj)

    def expr_Tuple(self, e, expected):
        vals = [self.lower_value(x) for x in e.elts]
        return self.graph.emit(Prim.TupleConstruct, vals,
                               [T.TupleType(tuple(v.type for v in vals))]).output

    def expr_List(self, e, expected):
        vals = [self.lower_value(x) for x in e.elts]
        elem = expected.elem if isinstance(expected, T.ListType) else None
        for v in vals:
            if elem is not None and interface_class(elem) is not None and \
                    script_class_of(v.type) is not None:
                continue    # an object where a list of an interface is expected: coerced
            elem = v.type if elem is None else T.unify(elem, v.type)
            if elem is None:
                raise self.src.error("list elements have types that do not unify", e.pos,
                                     "make every element the same type")
        elem = elem or T.TENSOR
        vals = [self.coerce(v, elem, e.pos, "list element") for v in vals]
        return self.graph.emit(Prim.ListConstruct, vals, [T.ListType(elem)]).output

    def expr_Dict(self, e, expected):
        ks = [self.lower_value(x) for x in e.keys]
        vs = [self.lower_value(x) for x in e.values]
        kt = expected.key if isinstance(expected, T.DictType) else (ks[0].type if ks else T.STR)
        vt = expected.value if isinstance(expected, T.DictType) else \
            (vs[0].type if vs else T.TENSOR)
        for v in vs[1:]:
            vt = T.unify(vt, v.type) or vt
        ins = []
        for k, v in zip(ks, vs):
            ins += [self.coerce(k, kt, e.pos, "dict key"), self.coerce(v, vt, e.pos, "dict value")]
        return self.graph.emit(Prim.DictConstruct, ins, [T.DictType(kt, vt)]).output

    def expr_FString(self, e, expected):
        template, vals = [], []
        for p in e.parts:
            if isinstance(p, S.Constant):
                template.append(str(p.value).replace("{", "{{").replace("}", "}}"))
            else:
                conv = f"!{p.conversion}" if p.conversion else ""
                spec = f":{p.spec}" if p.spec else ""
                template.append("{" + conv + spec + "}")
                vals.append(self.lower_value(p.value))
        return self.scalar("prim::format", [self.const("".join(template))] + vals, T.STR)

    def expr_IfExp(self, e, expected):
        static = self.static_condition(e.test)
        if static is not None:
            return self.lower(e.body if static else e.orelse, expected)
        cond = self.condition(e.test)
        refine_true, refine_false = self.stmts.refinements(e.test)

        def refined(branch: S.Expr, refine):
            def lower():    # `1 if x is None else x`: x is refined in its branch only
                saved = dict(self.env)
                self.stmts.apply_refinements(refine)
                try:
                    return self.lower_value(branch)
                finally:
                    self.env = saved
            return lower

        return self.loops.if_value(cond, refined(e.body, refine_true),
                                   refined(e.orelse, refine_false), e.pos, expected)

    def expr_Attribute(self, e, expected):
        base = self.lower(e.value)
        return self._attribute(base, e.attr, e.pos)

    def _attribute(self, base, attr: str, pos):
        if isinstance(base, PyObj):
            try:
                obj = getattr(base.obj, attr)
            except AttributeError:
                raise self.src.error(f"{describe(base.obj)} has no attribute '{attr}'",
                                     pos, "check the name: script resolves it as Python "
                                     "would, while compiling") from None
            return self.py_constant(obj, pos) if _is_constant(obj) else PyObj(obj)
        if isinstance(base, ModuleRef):
            return self.modules.module_attribute(base, attr, pos)
        v = self.as_value(base, pos)
        if is_tensor(v.type):
            simple = {"shape": ("prim::size", T.ListType(T.INT)), "dtype": ("prim::dtype", T.DTYPE),
                      "device": ("prim::device", T.DEVICE), "ndim": ("prim::dim", T.INT),
                      "requires_grad": ("prim::requires_grad", T.BOOL),
                      "grad": ("prim::grad", T.optional(T.TENSOR)),
                      "is_cuda": ("prim::is_cuda", T.BOOL), "is_leaf": ("prim::is_leaf", T.BOOL)}
            if attr == "layout":   # always strided (TAG_CODES)
                return self.const(TAG_CODES["strided"])
            if attr in ("is_sparse", "is_sparse_csr", "is_mkldnn", "is_quantized", "is_meta"):
                return self.const(False)   # dense, strided, unquantized (as Tensor's flags)
            if attr in simple:
                kind, t = simple[attr]
                return self.scalar(kind, [v], t)
            if attr in ("T", "H"):
                out = self.indexing.transpose_all(v, pos)
                # NOTE: H is the conjugate of T (conj of a real tensor: the same values)
                return self.calls.call_op("conj", [out], {}, pos) if attr == "H" else out
            if attr in ("mT", "mH"):
                out = self.calls.call_op("transpose", [v, self.const(-2), self.const(-1)], {},
                                         pos)
                return self.calls.call_op("conj", [out], {}, pos) if attr == "mH" else out
            if attr in ("real", "imag"):   # views of a complex tensor (real of a real: itself)
                return self.calls.call_op(attr, [v], {}, pos)
            if attr == "data":   # a detached alias: same storage, no gradient (TorchScript's)
                return self.scalar("prim::detach", [v], v.type)
        if v.type == T.DTYPE and attr == "name":
            return self.scalar("prim::dtype_name", [v], T.STR)
        if v.type == T.DEVICE and attr in ("type", "index"):
            out = T.STR if attr == "type" else T.optional(T.INT)
            return self.scalar(f"prim::device_{attr}", [v], out)
        if v.type == T.COMPLEX and attr in ("real", "imag"):
            return self.scalar(f"prim::complex_{attr}", [v], T.FLOAT)
        cls = enum_class(v.type)
        if cls is not None:
            return self._enum_attribute(cls, v, attr, pos)
        if script_class_of(v.type) is not None:   # an object of a user class
            return self.classes.attribute(v, attr, pos)
        fields = self.state.tuple_fields.get(v) or fields_of(v.type)
        if fields is not None and attr in fields:
            k = fields.index(attr)
            return self.graph.emit(Prim.TupleIndex, [v, self.const(k)],
                                   [v.type.elems[k]]).output
        return BoundMethod(v, attr)

    def _enum_attribute(self, cls: type, v: Value, attr: str, pos) -> Value:
        """``x.name`` / ``x.value`` of an Enum member (folded when ``x`` is a constant)."""
        if attr not in ("name", "value"):
            raise self.src.error(f"an Enum value ({cls.__qualname__}) has no attribute '{attr}' "
                                 f"in script", pos, "Enum values in script have .name and .value")
        if attr == "name":
            if v.is_constant:
                return self.const(self.graph.constant_value(v).name)
            return self.scalar("prim::enum_name", [v], T.STR)
        t, why = value_type(cls)
        if t is None:
            raise self.src.error(f".value of {cls.__qualname__} is not supported in script: {why}",
                                 pos, "script Enums hold values of one type: int, float or str")
        if v.is_constant:
            return self.const(self.graph.constant_value(v).value, t)
        return self.scalar("prim::enum_value", [v], t)

    # --- operators --------------------------------------------------------------------------------
    def expr_BinOp(self, e, expected):
        # NOTE: a chain a + b + c + ... nests to the left: walk it in a loop, not by recursion
        spine = []
        while isinstance(e, S.BinOp):
            spine.append(e)
            e = e.left
        acc = self.lower_value(e)
        for b in reversed(spine):
            with self.graph.source(self.loc(b.pos)):
                acc = self.binop(b.op, acc, self.lower_value(b.right), b.pos)
        return acc

    def binop(self, op: str, a: Value, b: Value, pos) -> Value:
        if script_class_of(a.type) or script_class_of(b.type):
            out = self.classes.binary(op, a, b, pos)
            if out is not None:
                return out
        tensor_op, prim = BINARY[op]
        if is_tensor(a.type) or is_tensor(b.type):
            if tensor_op is None:
                raise self.src.error(f"operator {op} is not supported on tensors", pos,
                                     "shift the values with integer arithmetic (x * 2 ** k) "
                                     "or leave it to a @graphtorch.jit.ignore function")
            return self.calls.call_op(tensor_op, [a, b], {}, pos)
        at, bt = a.type, b.type
        if T.COMPLEX in (at, bt) and isinstance(at, NUMERIC) and isinstance(bt, NUMERIC):
            if op not in ("+", "-", "*", "/", "**"):
                raise self.src.error(f"unsupported operand types for {op}: {at} and {bt}", pos,
                                     "complex numbers take + - * / and ** in script")
            return self.scalar(prim, [a, b], T.COMPLEX)
        if isinstance(at, NUMERIC) and isinstance(bt, NUMERIC):
            if op == "/":
                out = T.FLOAT
            elif T.FLOAT in (at, bt):
                out = T.FLOAT
            elif op in ("&", "|", "^") and at == T.BOOL and bt == T.BOOL:
                out = T.BOOL
            elif isinstance(at, T.NumberType) or isinstance(bt, T.NumberType):
                out = T.NUMBER
            else:
                out = T.INT
            if out == T.FLOAT and op in ("&", "|", "^", "<<", ">>"):
                raise self.src.error(f"unsupported operand types for {op}: {at} and {bt}", pos,
                                     _operand_hint(at, bt))
            return self.scalar(prim, [a, b], out)
        if op == "+" and isinstance(at, T.TupleType) and isinstance(bt, T.TupleType):
            items = [self.graph.emit(Prim.TupleIndex, [v, self.const(i)], [et]).output
                     for v in (a, b) for i, et in enumerate(v.type.elems)]
            return self.graph.emit(Prim.TupleConstruct, items,
                                   [T.TupleType(tuple(x.type for x in items))]).output
        if op == "+" and at == T.STR and bt == T.STR:
            return self.scalar(prim, [a, b], T.STR)
        if op == "+" and isinstance(at, T.ListType) and isinstance(bt, T.ListType):
            elem = T.unify(at.elem, bt.elem)
            if elem is not None:
                return self.scalar(prim, [a, b], T.ListType(elem))
        if op == "*" and isinstance(at, (T.ListType, T.StrType)) and bt == T.INT:
            return self.scalar(prim, [a, b], at)
        if op == "%" and at == T.STR:
            if not isinstance(bt, (T.TupleType, T.DictType)):   # "%d" % x: one value
                b = self.graph.emit(Prim.TupleConstruct, [b], [T.TupleType((bt,))]).output
            return self.scalar("prim::percent_format", [a, b], T.STR)
        raise self.src.error(f"unsupported operand types for {op}: {at} and {bt}", pos,
                             _operand_hint(at, bt))

    def expr_UnaryOp(self, e, expected):
        if e.op == "not":
            static = self.static_condition(e.operand)
            if static is not None:
                return self.const(not static)
            return self.scalar("prim::not", [self.condition(e.operand)], T.BOOL)
        v = self.lower_value(e.operand)
        if script_class_of(v.type) is not None:   # -obj: __neg__, +obj: __pos__, ~obj
            name = {"-": "__neg__", "+": "__pos__", "~": "__invert__"}[e.op]
            out = self.classes.dunder(v, name, [], e.pos)
            if out is not None:
                return out
        if e.op == "+":
            return v
        if is_tensor(v.type):
            name = {"-": "neg", "~": "bitwise_not"}[e.op]
            return self.calls.call_op(name, [v], {}, e.pos)
        if e.op == "-" and isinstance(v.type, NUMERIC):
            if v.is_constant:
                return self.const(-self.graph.constant_value(v))
            return self.scalar("prim::neg", [v], T.INT if v.type == T.BOOL else v.type)
        if e.op == "~" and v.type in (T.INT, T.BOOL):
            return self.scalar("prim::invert", [v], T.INT)
        raise self.src.error(f"bad operand type for unary {e.op}: {v.type}", e.pos)

    def expr_BoolOp(self, e, expected):
        return self._bool_op(e, truthy=False)

    def _bool_operand(self, e: S.Expr) -> Value:
        """An operand of and/or whose result is used as a value: it must be a bool, since
        Python would return the operand itself (``0 or 3`` is 3) where script returns a bool."""
        v = self.lower_value(e)
        if v.type != T.BOOL:
            raise self.src.error(f"an operand of 'and'/'or' whose result is used as a value must "
                                 f"be a bool in script, not {v.type}", e.pos,
                                 "Python would return the operand itself; write bool(...) "
                                 "around it, or use 'a if a else b'")
        return v

    def _bool_op(self, e: S.BoolOp, truthy: bool) -> Value:
        """``a and b`` / ``a or b`` as a bool. ``truthy``: the result is a condition (if, while,
        not, assert), where any operand counts by its truth value, as in Python."""
        operand = self.condition if truthy else self._bool_operand

        # NOTE: short-circuit: 'a and b' is 'b if a else False', evaluated lazily via prim::If.
        def chain(values):
            first = values[0]
            static = self.static_condition(first)
            if len(values) == 1:
                return self.const(static) if static is not None else operand(first)
            if static is not None:
                if (e.op == "and") == static:
                    return chain(values[1:])
                return self.const(static)
            cond = operand(first)
            when_true, when_false = self.stmts.refinements(first)

            def rest(refined):
                # NOTE: 'x is not None and x' reads the refined x in the right operand
                saved = dict(self.env)
                self.stmts.apply_refinements(refined)
                try:
                    return chain(values[1:])
                finally:
                    self.env = saved

            if e.op == "and":
                return self.loops.if_value(cond, lambda: rest(when_true), lambda: self.const(False))
            return self.loops.if_value(cond, lambda: self.const(True), lambda: rest(when_false))

        return chain(e.values)

    def expr_Compare(self, e, expected):
        static = self.static_condition(e)
        if static is not None:
            return self.const(static)
        left = self.lower_value(e.left)
        return self._compare_chain(left, list(zip(e.ops, e.comparators)), e.pos)

    def _compare_chain(self, left: Value, rest: list, pos) -> Value:
        """``left op1 b op2 c ...``: each operand evaluated once, and (as in Python) not at all
        once a scalar comparison was False; tensor comparisons combine with logical_and."""
        op, right_e = rest[0]
        raw = self.lower(right_e)
        if op in ("in", "not in") and isinstance(raw, ModuleRef) and raw.is_container:
            r = self.modules.container_contains(raw, left, right_e.pos)   # `k in self.mdict`
            if op == "not in":
                r = self.scalar("prim::not", [r], T.BOOL)
            if len(rest) == 1:
                return r
            raise self.src.error("a chained comparison through a module container is not "
                                 "supported in script", pos, "split it with 'and'")
        right = self.as_value(raw, right_e.pos)
        r = self._compare(op, left, right, right_e.pos)
        if len(rest) == 1:
            return r
        if is_tensor(r.type):
            tail = self._compare_chain(right, rest[1:], pos)
            return self.calls.call_op("logical_and", [r, tail], {}, pos)
        return self.loops.if_value(r, lambda: self._compare_chain(right, rest[1:], pos),
                                   lambda: self.const(False), pos)

    def _compare(self, op: str, a: Value, b: Value, pos) -> Value:
        if op not in ("is", "is not") and (script_class_of(a.type) or script_class_of(b.type)):
            out = self.classes.compare(op, a, b, pos)
            if out is not None:
                return out
        if op in ("is", "is not"):
            return self.scalar("prim::is" if op == "is" else "prim::is_not", [a, b], T.BOOL)
        if op in ("in", "not in"):
            return self.scalar("prim::in" if op == "in" else "prim::not_in", [a, b], T.BOOL)
        tensor_op, prim = COMPARE[op]
        if is_tensor(a.type) or is_tensor(b.type):
            return self.calls.call_op(tensor_op, [a, b], {}, pos)
        if op in ("==", "!="):
            a, b = self._size_as_tuple(a, b), self._size_as_tuple(b, a)
        return self.scalar(prim, [a, b], T.BOOL)

    def _size_as_tuple(self, v: Value, other: Value) -> Value:
        """``x.shape == (2, 3)``: eager's shape is a tuple (torch.Size), script's an int[];
        compared with a tuple it becomes one, so the comparison means what it does in eager."""
        if isinstance(other.type, T.TupleType) and v.node is not None and \
                v.node.kind == "prim::size" and len(v.node.inputs) == 1:
            t, n = v.node.inputs[0], len(other.type.elems)

            def dims_as_tuple():
                items = [self.scalar("prim::size", [t, self.const(k)], T.INT) for k in range(n)]
                return self.graph.emit(Prim.TupleConstruct, items,
                                       [T.TupleType((T.INT,) * n)]).output

            # NOTE: a rank other than n is never equal (None != the tuple)
            rank = self.scalar("prim::dim", [t], T.INT)
            return self.loops.if_value(self.scalar("prim::eq", [rank, self.const(n)], T.BOOL),
                                       dims_as_tuple, lambda: self.const(None))
        return v

    # --- conditions -------------------------------------------------------------------------------
    def static_condition(self, e: S.Expr) -> bool | None:
        """The value of a condition known while compiling (None tests on non-Optional values,
        module constants, isinstance, is_scripting), or None."""
        if isinstance(e, S.Constant) and isinstance(e.value, (bool, int)):
            return bool(e.value)
        if isinstance(e, S.Compare) and len(e.ops) == 1 and e.ops[0] in ("is", "is not"):
            rhs = e.comparators[0]
            if isinstance(rhs, S.Constant) and rhs.value is None:
                v = self._peek(e.left)
                if isinstance(v, Value) and not isinstance(v.type, (T.OptionalType, T.AnyType)):
                    is_none = isinstance(v.type, T.NoneType)
                    return is_none if e.ops[0] == "is" else not is_none
                if isinstance(v, (ModuleRef, PyObj)):
                    is_none = isinstance(v, PyObj) and v.obj is None
                    return is_none if e.ops[0] == "is" else not is_none
        if isinstance(e, S.UnaryOp) and e.op == "not":
            inner = self.static_condition(e.operand)
            return None if inner is None else not inner
        if isinstance(e, S.Call):
            return self._static_call_condition(e)
        if isinstance(e, S.BoolOp):   # every operand known: nothing is evaluated at run time
            known = [self.static_condition(x) for x in e.values]
            if all(k is not None for k in known):
                return all(known) if e.op == "and" else any(known)
            return None
        if isinstance(e, (S.Attribute, S.Name)):
            v = self._peek(e)
            if isinstance(v, Value) and v.is_constant:
                c = self.graph.constant_value(v)
                if isinstance(c, (bool, int)) or c is None:
                    return bool(c)
        return None

    def _static_call_condition(self, e: S.Call) -> bool | None:
        """isinstance(...) and graphtorch.jit.is_scripting() are known while compiling."""
        f = self._peek(e.func)
        if not isinstance(f, PyObj):
            return None
        if (f.obj is isinstance or f.obj is jit_isinstance) and len(e.args) == 2:
            return self.builtin_calls.static_isinstance(e)
        if f.obj is builtins.hasattr and len(e.args) == 2 and not e.keywords:
            return self.static_hasattr(e)
        if getattr(f.obj, "__name__", "") == "is_scripting" and \
                "jit" in (getattr(f.obj, "__module__", "") or ""):
            return True
        return None

    def static_hasattr(self, e: S.Call) -> bool | None:
        """``hasattr(module, "name")``: known while compiling (a module's attributes are fixed
        when it is scripted); None where the object or the name is not known."""
        name = e.args[1]
        if not (isinstance(name, S.Constant) and isinstance(name.value, str)):
            return None
        obj = self._peek(e.args[0])
        if isinstance(obj, ModuleRef):
            return hasattr(obj.module, name.value)
        if isinstance(obj, PyObj):
            return hasattr(obj.obj, name.value)
        if isinstance(obj, Value) and script_class_of(obj.type) is not None:
            return self.classes.has_attribute(obj, name.value, e.pos)
        return None

    def _peek(self, e: S.Expr):
        """Compile ``e`` for a static test; names and attribute chains have no side effects."""
        if isinstance(e, (S.Name, S.Attribute)):
            try:
                return self.lower(e)
            except Exception:  # noqa: BLE001 - the real compile reports the error
                return None
        return None

    def condition(self, e: S.Expr) -> Value:
        if isinstance(e, S.BoolOp):
            with self.graph.source(self.loc(e.pos)):
                return self._bool_op(e, truthy=True)
        v = self.lower_value(e)
        if v.type == T.BOOL:
            return v
        if is_tensor(v.type) or isinstance(v.type, (T.IntType, T.FloatType, T.NumberType)):
            return self.scalar("prim::bool", [v], T.BOOL)
        if isinstance(v.type, (T.ListType, T.DictType, T.StrType)):
            n = self.scalar("prim::len", [v], T.INT)
            return self.scalar("prim::ne", [n, self.const(0)], T.BOOL)
        if isinstance(v.type, T.OptionalType):
            return self.scalar("prim::is_not", [v, self.const(None)], T.BOOL)
        if script_class_of(v.type) is not None:   # as Python: __bool__, else __len__ != 0
            b = self.classes.dunder(v, "__bool__", [], e.pos)
            if b is not None:
                return b
            n = self.classes.dunder(v, "__len__", [], e.pos)
            if n is not None:
                return self.scalar("prim::ne", [n, self.const(0)], T.BOOL)
            return self.const(True)
        raise self.src.error(f"a value of type {v.type} cannot be used as a condition", e.pos)

    # --- iteration --------------------------------------------------------------------------------
    def index_value(self, seq, i: Value, pos) -> Value:
        v = self.as_value(seq, pos)
        if isinstance(v.type, T.ListType):
            return self.scalar("prim::list_get", [v, i], v.type.elem)
        if isinstance(v.type, T.DictType):
            keys = self.scalar("prim::dict_keys", [v], T.ListType(v.type.key))
            return self.scalar("prim::list_get", [keys, i], v.type.key)
        if is_tensor(v.type):
            return self.indexing.tensor_select(v, 0, i, pos)
        if v.type == T.STR:   # for c in s: one-character strings
            return self.scalar("prim::str_get", [v, i], T.STR)
        raise self.src.error(f"cannot iterate over a value of type {v.type}", pos,
                             "iterate over a list, tuple, dict, str, range or tensor (annotate "
                             "an Any value with its container type)")

    def length(self, seq, pos) -> Value:
        v = self.as_value(seq, pos)
        if script_class_of(v.type) is not None and \
                (n := self.classes.dunder(v, "__len__", [], pos)) is not None:
            return n
        if is_tensor(v.type):
            return self.scalar("prim::size", [v, self.const(0)], T.INT)
        if isinstance(v.type, (T.ListType, T.DictType, T.StrType)):
            return self.scalar("prim::len", [v], T.INT)
        raise self.src.error(f"cannot iterate over a value of type {v.type}", pos,
                             "iterate over a list, tuple, dict, str, range or tensor (annotate "
                             "an Any value with its container type)")

    def static_items(self, seq, pos):
        """Compile-time items of a tuple value or module container, else None."""
        if seq is None:
            return ...
        if isinstance(seq, list):     # ModuleDict.items()/keys()/values(), known statically
            return seq
        if isinstance(seq, ModuleRef) and seq.is_container:
            return self.modules.iteration_items(seq)
        if isinstance(seq, Value) and isinstance(seq.type, T.TupleType):
            node = self.graph.emit(Prim.TupleUnpack, [seq], list(seq.type.elems))
            return list(node.outputs)
        return None

    def expr_ListComp(self, e, expected):
        return self.calls.comprehension(e, lambda: [self.lower_value(e.elt)], "list")

    def expr_DictComp(self, e, expected):
        return self.calls.comprehension(
            e, lambda: [self.lower_value(e.key), self.lower_value(e.value)], "dict")

    def expr_Slice(self, e, expected):
        raise self.src.error("a slice is only valid inside []", e.pos)


def _is_constant(obj) -> bool:
    if obj is None or isinstance(obj, (bool, int, float, complex, str)) or is_enum_member(obj):
        return True

    if isinstance(obj, (dtype, device)):
        return True
    return isinstance(obj, tuple) and all(_is_constant(x) for x in obj)


def describe(obj) -> str:
    """``obj`` in an error message: module 'm', class 'C', function 'f' ..."""
    import types

    if isinstance(obj, types.ModuleType):
        return f"module '{obj.__name__}'"
    if isinstance(obj, type):
        return f"class '{obj.__qualname__}'"
    if callable(obj):
        return f"function '{getattr(obj, '__qualname__', obj)}'"
    return f"a Python {type(obj).__name__} object"
