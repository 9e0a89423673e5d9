"""Statements -> IR: assignments, ``if``, ``assert``, ``del``, ``import`` and the refinement of
names by ``is None`` / ``isinstance`` tests.

Names map to SSA values in the environment (``state.env``, a dict copied at each branch). ``if``
becomes prim::If whose block outputs are the names either branch rebinds (types joined with
``unify``, see ExitLowerer.branches). Loops, ``with`` and the exiting statements have their own
collaborators (loops.py, with_stmt.py, exits.py); ``lower`` dispatches to whichever owns the
statement (see state.py).
"""

from __future__ import annotations

import importlib

from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.class_types import script_class_of
from graphtorch.frontend.script.flow import narrow
from graphtorch.frontend.script.state import Lowerer
from graphtorch.frontend.script.values import ModuleRef, PyObj, Undefined
from graphtorch.ir import types as T
from graphtorch.ir.graph import Value
from graphtorch.ir.kinds import Prim


class StatementLowerer(Lowerer):
    """Statements: ``lower(s)`` compiles one statement at the insertion point; ``assign`` binds a
    target; ``refinements`` / ``apply_refinements`` narrow names by a test."""

    # --- statements -------------------------------------------------------------------------------
    def lower(self, s: S.Stmt) -> None:
        handler = self.parts.stmt_handlers.get(type(s).__name__)
        with self.graph.source(self.loc(s.pos)):
            if handler is None:
                raise AttributeError(f"'FunctionCompiler' object has no attribute "
                                     f"'stmt_{type(s).__name__}'")
            handler(s)

    def stmt_Pass(self, s):
        pass

    def stmt_ExprStmt(self, s):
        self.exprs.lower(s.value)

    def stmt_Assert(self, s):
        cond = self.exprs.condition(s.test)
        node = self.graph.emit(Prim.If, [cond], [])
        node.add_block()
        fail = node.add_block()
        with self.graph.insert_point(fail):
            if s.msg is not None:
                msg = self.exprs.lower_value(s.msg)
                if msg.type != T.STR:
                    msg = self.scalar("prim::str", [msg], T.STR)
            else:
                msg = self.const("")
            self.graph.emit(Prim.RaiseException, [msg], [], {"exc": "AssertionError"})
        # NOTE: past 'assert x is not None' x is refined, as after an early return
        self.apply_refinements(self.refinements(s.test)[0])

    def stmt_Delete(self, s):
        for t in s.targets:
            if isinstance(t, S.Name):
                self.exprs.lower(t)    # an unbound name is an error, as in Python
                self.env[t.id] = Undefined(t.id, t.pos, f"it was deleted (del) at line "
                                                        f"{self.src.file_line(t.pos)}")
            elif isinstance(t, S.Subscript) and not isinstance(t.index, (S.Slice, S.Tuple)):
                container = self.exprs.lower_value(t.value)
                if script_class_of(container.type) is not None and self.classes.dunder(
                        container, "__delitem__", [self.exprs.lower_value(t.index)],
                        t.pos) is not None:
                    continue
                if not isinstance(container.type, (T.ListType, T.DictType)):
                    raise self.src.error(f"del of an element needs a list or a dict, not "
                                         f"{container.type}", t.pos,
                                         "only list and dict elements can be deleted")
                # NOTE: del l[i] / del d[k] are l.pop(i) / d.pop(k) with the result dropped
                self.env["$del"] = container
                receiver = S.Name(t.value.pos, "$del")
                self.exprs.lower(S.Call(t.pos, S.Attribute(t.pos, receiver, "pop"), [t.index]))
                del self.env["$del"]
            else:
                raise self.src.error("del takes names and list or dict elements in script",
                                     t.pos, "for a slice, rebuild the list: l = l[:i] + l[j:]")

    def stmt_Import(self, s):
        for local, module, attr in s.bindings:
            try:
                obj = importlib.import_module(module)
                if attr is not None:
                    obj = getattr(obj, attr) if hasattr(obj, attr) else \
                        importlib.import_module(f"{module}.{attr}")
            except (ImportError, AttributeError) as err:
                raise self.src.error(f"cannot import {attr or module} from {module}: {err}",
                                     s.pos) from None
            self.env[local] = PyObj(obj)

    # --- assignment -------------------------------------------------------------------------------
    def stmt_Assign(self, s):
        value = self.exprs.lower(s.value)
        for t in s.targets:
            self.assign(t, value, s.value.pos)

    def stmt_AnnAssign(self, s):
        t = self.state.ann_type(s.annotation)
        if s.value is None:
            raise self.src.error("an annotated name needs a value in script", s.pos,
                                 f"write '{_text(s.target)}: ... = <value>'")
        v = self.exprs.lower_value(s.value, expected=t)
        if isinstance(s.target, S.Attribute):   # self.a: T = v declares a class attribute
            obj = self.exprs.lower(s.target.value)
            if isinstance(obj, Value) and script_class_of(obj.type) is not None:
                v = self.exprs.coerce(v, t, s.value.pos, f"'{_text(s.target)}'")
                self.classes.set_attribute(obj, s.target.attr, v, s.target.pos, declared=t)
                return
        self.assign(s.target, self.exprs.coerce(v, t, s.value.pos, f"'{_text(s.target)}'"),
                    s.value.pos)

    def assign(self, target: S.Expr, value, pos) -> None:
        if isinstance(target, S.Name):
            if isinstance(value, Value) and value.name is None and not value.is_param:
                value.name = target.id
            self.env[target.id] = value
        elif isinstance(target, (S.Tuple, S.List)) and \
                any(isinstance(t, S.Starred) for t in target.elts):
            self._assign_starred(target, value, pos)
        elif isinstance(target, (S.Tuple, S.List)):
            parts = self._unpack(value, len(target.elts), pos)
            for t, v in zip(target.elts, parts):
                self.assign(t, v, pos)
        elif isinstance(target, S.Subscript):
            self.indexing.assign_subscript(target, self.exprs.as_value(value, pos))
        elif isinstance(target, S.Attribute):
            obj = self.exprs.lower(target.value)
            if isinstance(obj, Value) and script_class_of(obj.type) is not None:
                self.classes.set_attribute(obj, target.attr, value, target.pos)
                return
            if not isinstance(obj, ModuleRef):
                raise self.src.error("only module attributes can be assigned in script",
                                     target.pos)
            m = obj.module
            if target.attr not in m._parameters and target.attr not in m._buffers and \
                    self.modules.assign_plain_attribute(obj, target.attr,
                                                        self.exprs.as_value(value, pos), pos):
                return
            if target.attr not in m._parameters and target.attr not in m._buffers:
                # NOTE: other attributes (objects, modules) are not assigned in script
                raise self.src.error(
                    f"assigning the attribute '{target.attr}' of module {type(m).__name__} is "
                    f"not supported in script: script assigns parameters, buffers, and "
                    f"attributes holding numbers, strings, None, lists or dicts of those, or "
                    f"objects of script classes", target.pos,
                    "keep a changing tensor in a buffer (register_buffer) and update it in "
                    "place, or return it")
            v = self.exprs.as_value(value, pos)
            self.graph.emit(Prim.SetAttr, [obj.value, v], [], {"name": target.attr})

    def _assign_starred(self, target: S.Tuple | S.List, value, pos) -> None:
        """``a, *b, c = t``: as TorchScript does, ``b`` is a tuple of the middle elements; the
        value must be a tuple (its length is known while compiling)."""
        star = next(i for i, t in enumerate(target.elts) if isinstance(t, S.Starred))
        if isinstance(value, Value) and isinstance(value.type, T.TupleType):
            n = len(value.type.elems)
        else:
            t = value.type if isinstance(value, Value) else type(value).__name__
            raise self.src.error(f"starred unpacking of a value of type {t} is not supported "
                                 "in script", target.elts[star].pos,
                                 "starred unpacking needs a tuple (its length is known while "
                                 "compiling); index a list instead")
        fixed = len(target.elts) - 1
        if n < fixed:
            raise self.src.error(f"cannot unpack a tuple of {n} values into {fixed} or more "
                                 "names", pos)
        items = self._unpack(value, n, pos)
        rest = items[star:star + n - fixed]
        middle = self.graph.emit(Prim.TupleConstruct, rest,
                                 [T.TupleType(tuple(v.type for v in rest))]).output
        parts = items[:star] + [middle] + items[star + n - fixed:]
        for t, v in zip(target.elts, parts):
            self.assign(t.value if isinstance(t, S.Starred) else t, v, pos)

    def _unpack(self, value, n: int, pos) -> list:
        if isinstance(value, list):
            items = value
        elif isinstance(value, Value) and isinstance(value.type, T.TupleType):
            if len(value.type.elems) != n:
                raise self.src.error(f"cannot unpack a tuple of {len(value.type.elems)} values "
                                     f"into {n} names", pos)
            node = self.graph.emit(Prim.TupleUnpack, [value], list(value.type.elems))
            items = list(node.outputs)
        elif isinstance(value, Value) and isinstance(value.type, T.ListType):
            node = self.graph.emit(Prim.ListUnpack, [value], [value.type.elem] * n)
            items = list(node.outputs)
        else:
            t = value.type if isinstance(value, Value) else type(value).__name__
            raise self.src.error(f"cannot unpack a value of type {t}", pos,
                                 "only tuples and lists can be unpacked")
        if len(items) != n:
            raise self.src.error(f"cannot unpack {len(items)} values into {n} names", pos)
        return items

    # --- if ---------------------------------------------------------------------------------------
    def stmt_If(self, s):
        static = self.exprs.static_condition(s.test)
        if static is not None:
            self.exits.block(s.body if static else s.orelse)
            return
        cond = self.exprs.condition(s.test)
        refine_true, refine_false = self.refinements(s.test)

        def branch(stmts, refine):
            return lambda: (self.apply_refinements(refine), self.exits.block(stmts))

        envs = self.exits.branches(cond, branch(s.body, refine_true),
                                   branch(s.orelse, refine_false), s.pos)
        # NOTE: past 'if x is None: return' x is refined, as in the branch that goes on
        left = [self.exits.has_left(env) for env in envs]
        if left[0] and not left[1]:
            self.apply_refinements(refine_false)
        elif left[1] and not left[0]:
            self.apply_refinements(refine_true)

    # --- refinement (Optional by 'is None', Union and Any by isinstance) --------------------------
    def refinements(self, test: S.Expr):
        """(names refined in the true branch, in the false branch), as (name, type) pairs, by
        ``is None`` and ``isinstance`` tests, under ``not`` and in ``and``/``or`` chains."""
        if isinstance(test, S.UnaryOp) and test.op == "not":
            t, f = self.refinements(test.operand)
            return f, t
        if isinstance(test, S.BoolOp):
            t, f = [], []
            for e in test.values:
                et, ef = self.refinements(e)
                if test.op == "and":
                    t += et
                else:
                    f += ef
            return t, f
        return self._test_refinement(test)

    def _test_refinement(self, e: S.Expr):
        if isinstance(e, S.Call) and (
                isinstance(e.func, S.Name) and e.func.id == "isinstance" or
                isinstance(e.func, S.Attribute) and e.func.attr == "isinstance") and \
                len(e.args) == 2 and isinstance(e.args[0], S.Name):   # also jit.isinstance
            v = self.env.get(e.args[0].id)
            if not isinstance(v, Value):
                return [], []
            types = [t for t in self.builtin_calls.isinstance_types(e) if t is not None]
            when_true, when_false = narrow(v.type, types)
            name = e.args[0].id
            return ([(name, when_true)] if when_true is not None else [],
                    [(name, when_false)] if when_false is not None else [])
        if (isinstance(e, S.Compare) and len(e.ops) == 1 and isinstance(e.left, S.Name)
                and isinstance(e.comparators[0], S.Constant)
                and e.comparators[0].value is None and e.ops[0] in ("is", "is not")):
            v = self.env.get(e.left.id)
            if isinstance(v, Value) and isinstance(v.type, T.OptionalType):
                refined = [(e.left.id, v.type.elem)]
                return ([], refined) if e.ops[0] == "is" else (refined, [])
        return [], []

    def apply_refinements(self, refined: list[tuple[str, T.Type]]) -> None:
        for n, t in refined:
            v = self.env.get(n)
            if isinstance(v, Value) and v.type != t and T.is_subtype(t, v.type):
                out = self.graph.emit(Prim.unchecked_cast, [v], [t]).output
                self.env[n] = out


def _text(e: S.Expr) -> str:
    if isinstance(e, S.Name):
        return e.id
    return "target"


__all__ = ["StatementLowerer"]
