"""Statements -> IR: one :class:`FunctionCompiler` per scripted function or method.

Names map to SSA values in an environment (a dict copied at each branch). ``if`` becomes prim::If
whose block outputs are the names either branch rebinds (types joined with ``unify``); loops become
prim::Loop carrying the names the body rebinds. Early exits (return/break/continue/raise) are
lowered by one structured transformation: see exits.py.
"""

from __future__ import annotations

from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.annotations import named_tuple_fields, resolve, signature_types
from graphtorch.frontend.script.calls import CallCompiler
from graphtorch.frontend.script.defaults import parameter_defaults
from graphtorch.frontend.script.exits import RET, RV, ExitCompiler
from graphtorch.frontend.script.expressions import ExprCompiler
from graphtorch.frontend.script.flow import narrow
from graphtorch.frontend.script.indexing import IndexCompiler
from graphtorch.frontend.script.inplace import InplaceCompiler
from graphtorch.frontend.script.library_calls import LibraryCallCompiler
from graphtorch.frontend.script.loops import LoopCompiler
from graphtorch.frontend.script.modules import ModuleCompiler
from graphtorch.frontend.script.tensor_literals import TensorLiteralCompiler
from graphtorch.frontend.script.values import ModuleRef, PyObj, Undefined
from graphtorch.frontend.script.with_stmt import WithCompiler
from graphtorch.ir import types as T
from graphtorch.ir.graph import Graph, Value
from graphtorch.ir.kinds import Prim


class FunctionCompiler(ExitCompiler, ExprCompiler, CallCompiler, ModuleCompiler, IndexCompiler,
                       LoopCompiler, TensorLiteralCompiler, InplaceCompiler, LibraryCallCompiler,
                       WithCompiler):
    """Compiles one FunctionDef into ``graph`` (self-module methods get ``self`` as input 0)."""

    def __init__(self, unit, src, fn: S.FunctionDef, py_fn, graph: Graph,
                 self_module=None, qualname: str = ""):
        self.unit = unit               # the ScriptUnit: compiled functions/modules, type names
        self.src = src
        self.fn = fn
        self.py_fn = py_fn
        self.graph = graph
        self.self_module = self_module
        self.qualname = qualname or fn.name
        self.env: dict[str, object] = {}
        self.loop_depth = 0
        self.return_type: T.Type | None = None
        self.arg_names: list[str] = []
        self.static_lens: set = set()   # len(<module container>) values: their ranges unroll
        self.tuple_fields: dict = {}    # named-tuple results of ops (values, indices) -> names
        self.param_types: dict = {}     # name -> type of unannotated parameters (specialized)

    # --- lookup -----------------------------------------------------------------------------------
    def lookup_global(self, name: str):
        import builtins

        fn = self.py_fn
        closure = getattr(fn, "__closure__", None)
        if closure:
            for cname, cell in zip(fn.__code__.co_freevars, closure):
                if cname == name:
                    try:
                        return cell.cell_contents
                    except ValueError:
                        break
        g = getattr(fn, "__globals__", {})
        if name in g:
            return g[name]
        if hasattr(builtins, name):
            return getattr(builtins, name)
        raise KeyError(name)

    def ann_type(self, e: S.Expr) -> T.Type:
        return resolve(e, self.lookup_global, self.src)

    # --- entry ------------------------------------------------------------------------------------
    def compile(self) -> Graph:
        g = self.graph
        params = list(self.fn.params)
        if self.self_module is not None:
            if not params:
                raise self.src.error(f"method {self.fn.name} has no 'self' parameter",
                                     self.fn.pos)
            sv = g.add_input("self", self.unit.module_type(self.self_module))
            self.env[params[0].name] = ModuleRef(sv, self.self_module)
            params = params[1:]
        defaults = getattr(self.py_fn, "__defaults__", None) or ()
        sig, sig_ret = signature_types(self.src, self.fn, self.py_fn, self.lookup_global,
                                       self.self_module is not None)
        anns = getattr(self.py_fn, "__annotations__", None) or {}
        for p in params:
            if p.name in sig:   # evaluated __annotations__ or a '# type:' signature comment
                t = sig[p.name]
            elif p.annotation is not None:
                t = self.ann_type(p.annotation)
            elif p.name in self.param_types:
                t = self.param_types[p.name]
            elif p.default is not None and isinstance(p.default, S.Constant) \
                    and p.default.value is not None:
                t = T.type_of_value(p.default.value)
            else:
                t = T.TENSOR
            v = g.add_input(p.name, t)
            self.env[p.name] = v
            fields = named_tuple_fields(anns.get(p.name))
            if fields is not None:   # a typing.NamedTuple parameter: p.a reads its field
                self.tuple_fields[v] = fields
            self.arg_names.append(p.name)
        del defaults
        if sig_ret is not None:
            self.return_type = sig_ret
        elif self.fn.returns is not None:
            self.return_type = self.ann_type(self.fn.returns)
        with g.insert_point(g.block):
            self.start_exits()
            self.block(self.fn.body)
            ret = self.final_return()
        g.set_outputs([ret])
        # NOTE: the executor fills arguments left out of a call from these
        g.defaults = {k: v for k, v in parameter_defaults(self.py_fn).items()
                      if k in self.arg_names}
        return g

    def final_return(self) -> Value:
        """The function's result: what it returned; paths that fall off the end return None."""
        rt = self.return_type
        if self.raised():   # every path raises
            return self.graph.emit(Prim.Uninitialized, [], [rt or T.NONE]).output
        returned = self.flag(RET)
        if returned is None:    # as Python: the result becomes Optional[...]
            self.block([S.Return(self.fn.pos, None)])
        elif returned is False:
            return self.coerce(self.const(None), rt, self.fn.pos, "the return value") \
                if rt is not None else self.const(None)
        ret = self.as_value(self.env[RV], self.fn.pos)
        if rt is not None:
            ret = self.coerce(ret, rt, self.fn.pos, "the return value")
        return ret

    # --- statements -------------------------------------------------------------------------------
    def stmt(self, s: S.Stmt) -> None:
        with self.graph.source(self.loc(s.pos)):
            getattr(self, "stmt_" + type(s).__name__)(s)

    def stmt_Pass(self, s):
        pass

    def stmt_ExprStmt(self, s):
        self.expr(s.value)

    def stmt_Assert(self, s):
        cond = self.condition(s.test)
        node = self.graph.emit(Prim.If, [cond], [])
        node.add_block()
        fail = node.add_block()
        with self.graph.insert_point(fail):
            if s.msg is not None:
                msg = self.expr_value(s.msg)
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
                self.expr(t)    # an unbound name is an error, as in Python
                self.env[t.id] = Undefined(t.id, t.pos, f"it was deleted (del) at line "
                                                        f"{self.src.file_line(t.pos)}")
            elif isinstance(t, S.Subscript) and not isinstance(t.index, (S.Slice, S.Tuple)):
                container = self.expr_value(t.value)
                if not isinstance(container.type, (T.ListType, T.DictType)):
                    raise self.src.error(f"del of an element needs a list or a dict, not "
                                         f"{container.type}", t.pos,
                                         "only list and dict elements can be deleted")
                # NOTE: del l[i] / del d[k] are l.pop(i) / d.pop(k) with the result dropped
                self.env["$del"] = container
                receiver = S.Name(t.value.pos, "$del")
                self.expr(S.Call(t.pos, S.Attribute(t.pos, receiver, "pop"), [t.index]))
                del self.env["$del"]
            else:
                raise self.src.error("del takes names and list or dict elements in script",
                                     t.pos, "for a slice, rebuild the list: l = l[:i] + l[j:]")

    def stmt_Import(self, s):
        import importlib

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
        value = self.expr(s.value)
        for t in s.targets:
            self.assign(t, value, s.value.pos)

    def stmt_AnnAssign(self, s):
        t = self.ann_type(s.annotation)
        if s.value is None:
            raise self.src.error("an annotated name needs a value in script", s.pos,
                                 f"write '{_text(s.target)}: ... = <value>'")
        v = self.expr_value(s.value, expected=t)
        self.assign(s.target, self.coerce(v, t, s.value.pos, f"'{_text(s.target)}'"),
                    s.value.pos)

    def assign(self, target: S.Expr, value, pos) -> None:
        if isinstance(target, S.Name):
            if isinstance(value, Value) and value.name is None and not value.is_param:
                value.name = target.id
            self.env[target.id] = value
        elif isinstance(target, (S.Tuple, S.List)):
            parts = self.unpack(value, len(target.elts), pos)
            for t, v in zip(target.elts, parts):
                self.assign(t, v, pos)
        elif isinstance(target, S.Subscript):
            self.assign_subscript(target, self.as_value(value, pos))
        elif isinstance(target, S.Attribute):
            obj = self.expr(target.value)
            if not isinstance(obj, ModuleRef):
                raise self.src.error("only module attributes can be assigned in script",
                                     target.pos)
            v = self.as_value(value, pos)
            self.graph.emit(Prim.SetAttr, [obj.value, v], [], {"name": target.attr})

    def unpack(self, value, n: int, pos) -> list:
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
        static = self.static_condition(s.test)
        if static is not None:
            self.block(s.body if static else s.orelse)
            return
        cond = self.condition(s.test)
        refine_true, refine_false = self.refinements(s.test)

        def branch(stmts, refine):
            return lambda: (self.apply_refinements(refine), self.block(stmts))

        envs = self.branches(cond, branch(s.body, refine_true), branch(s.orelse, refine_false),
                             s.pos)
        # NOTE: past 'if x is None: return' x is refined, as in the branch that goes on
        left = [self.has_left(env) for env in envs]
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
        return self.test_refinement(test)

    def test_refinement(self, e: S.Expr):
        if isinstance(e, S.Call) and (
                isinstance(e.func, S.Name) and e.func.id == "isinstance" or
                isinstance(e.func, S.Attribute) and e.func.attr == "isinstance") and \
                len(e.args) == 2 and isinstance(e.args[0], S.Name):   # also jit.isinstance
            v = self.env.get(e.args[0].id)
            if not isinstance(v, Value):
                return [], []
            types = [t for t in self.isinstance_types(e) if t is not None]
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


__all__ = ["FunctionCompiler", "PyObj"]
