"""Statements -> IR: one :class:`FunctionCompiler` per scripted function or method.

Names map to SSA values in an environment (a dict copied at each branch). ``if`` becomes prim::If
whose block outputs are the names either branch rebinds (types joined with ``unify``); loops become
prim::Loop carrying the names the body rebinds. Early exits are rewritten structurally: when one
branch of an ``if`` always leaves (return/break/continue/raise), the statements after the ``if``
move into the other branch, so every path ends at the end of its block. ``break`` sets a flag that
the loop condition reads.
"""

from __future__ import annotations

from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.annotations import resolve
from graphtorch.frontend.script.calls import CallCompiler
from graphtorch.frontend.script.defaults import parameter_defaults
from graphtorch.frontend.script.expressions import ExprCompiler
from graphtorch.frontend.script.flow import BROKE, RETURN, RETURNED, _contains, always_exits
from graphtorch.frontend.script.indexing import IndexCompiler
from graphtorch.frontend.script.inplace import InplaceCompiler
from graphtorch.frontend.script.library_calls import LibraryCallCompiler
from graphtorch.frontend.script.loops import LoopCompiler
from graphtorch.frontend.script.modules import ModuleCompiler
from graphtorch.frontend.script.tensor_literals import TensorLiteralCompiler
from graphtorch.frontend.script.values import ModuleRef, PyObj, Undefined
from graphtorch.ir import types as T
from graphtorch.ir.graph import Block, Graph, Value
from graphtorch.ir.kinds import Prim


class FunctionCompiler(ExprCompiler, CallCompiler, ModuleCompiler, IndexCompiler, LoopCompiler,
                       TensorLiteralCompiler, InplaceCompiler, LibraryCallCompiler):
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
        for p in params:
            if p.annotation is not None:
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
            self.arg_names.append(p.name)
        del defaults
        if self.fn.returns is not None:
            self.return_type = self.ann_type(self.fn.returns)
        with g.insert_point(g.block):
            self.env[RETURN] = self.no_return = self.const(None)
            self.env[RETURNED] = self.const(False)
            self.block(self.fn.body)
            ret = self.env[RETURN]
            if isinstance(ret, Undefined) and ret.why == _RAISED:
                ret = self.no_return   # every path raises
            if isinstance(ret, Undefined):
                raise self.src.error(f"{self.fn.name} does not return a value on every path",
                                     self.fn.pos, "add a return statement at the end")
            ret = self.as_value(ret, self.fn.pos)
            if self.return_type is not None:
                ret = self.coerce(ret, self.return_type, self.fn.pos, "the return value")
        g.set_outputs([ret])
        # NOTE: the executor fills arguments left out of a call from these
        g.defaults = {k: v for k, v in parameter_defaults(self.py_fn).items()
                      if k in self.arg_names}
        return g

    # --- statement lists --------------------------------------------------------------------------
    def block(self, stmts: list[S.Stmt]) -> bool:
        """Compile statements; True when every path left (the env then holds dead values)."""
        for i, s in enumerate(stmts):
            rest = stmts[i + 1:]
            if isinstance(s, (S.For, S.While)) and _contains(s.body, (S.Return,), True):
                # NOTE: a return inside the loop broke out of it; skip what follows when it did
                if self.stmt(s):
                    return True
                if not self.loop_depth and not always_exits(rest):
                    rest = rest + [S.Return(s.pos, None)]
                guard = S.If(s.pos, S.Name(s.pos, RETURNED), [_Exit(s.pos)], rest)
                return self.stmt(guard)
            if isinstance(s, S.If) and rest:
                body_exits, else_exits = always_exits(s.body), always_exits(s.orelse)
                if body_exits != else_exits:
                    s = S.If(s.pos, s.test, s.body if body_exits else s.body + rest,
                             s.orelse if else_exits else s.orelse + rest)
                    return self.stmt(s)
            if self.stmt(s):
                return True
        return False

    def stmt(self, s: S.Stmt) -> bool:
        with self.graph.source(self.loc(s.pos)):
            method = getattr(self, "stmt_" + type(s).__name__)
            return bool(method(s))

    def stmt_Pass(self, s):
        return False

    def stmt_ExprStmt(self, s):
        self.expr(s.value)

    def stmt_Return(self, s):
        v = self.expr_value(s.value) if s.value is not None else self.const(None)
        if self.return_type is not None:
            v = self.coerce(v, self.return_type, s.pos, "the return value")
        self.env[RETURN] = v
        if self.loop_depth:
            self.env[RETURNED] = self.const(True)
            self.env[BROKE] = self.const(True)
        return True

    def stmt__Exit(self, s):
        """Leave after a loop that returned: break the enclosing loop, or end the function."""
        if self.loop_depth:
            self.env[BROKE] = self.const(True)
        return True

    def stmt_Raise(self, s):
        exc, msg = "Exception", ""
        e = s.exc
        if isinstance(e, S.Call) and isinstance(e.func, S.Name):
            exc = e.func.id
            msg_v = self.expr_value(e.args[0]) if e.args else self.const("")
        elif isinstance(e, S.Name):
            exc, msg_v = e.id, self.const(msg)
        else:
            msg_v = self.const(msg)
        if msg_v.type != T.STR:
            msg_v = self.scalar("prim::str", [msg_v], T.STR)
        self.graph.emit(Prim.RaiseException, [msg_v], [], {"exc": exc})
        # NOTE: a raising path returns nothing: its branch must not add None to the return type
        self.env[RETURN] = Undefined(RETURN, s.pos, _RAISED)
        return True

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

    def stmt_Break(self, s):
        if not self.loop_depth:
            raise self.src.error("'break' outside loop", s.pos)
        self.env[BROKE] = self.const(True)
        return True

    def stmt_Continue(self, s):
        if not self.loop_depth:
            raise self.src.error("'continue' not properly in loop", s.pos)
        return True

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
            return self.block(s.body if static else s.orelse)
        cond = self.condition(s.test)
        refine_true, refine_false = self.refinements(s.test)
        before = dict(self.env)
        node = self.graph.emit(Prim.If, [cond], [])
        tb, fb = node.add_block(), node.add_block()
        envs, exits = [], []
        for blk, stmts, refine in ((tb, s.body, refine_true), (fb, s.orelse, refine_false)):
            self.env = dict(before)
            with self.graph.insert_point(blk):
                self.apply_refinements(refine)
                exits.append(self.block(stmts))
            envs.append(self.env)
        self.env = before
        self.merge(node, [tb, fb], envs, exits, before, s.pos)
        return all(exits)

    def merge(self, node, blocks: list[Block], envs: list[dict], exits: list[bool], before: dict,
              pos) -> None:
        names = []
        for env in envs:
            for k, v in env.items():
                if before.get(k) is not v and k not in names:
                    names.append(k)
        outs = [[] for _ in blocks]
        for name in names:
            vals = [env.get(name) for env in envs]
            live = [v for v, ex in zip(vals, exits) if not ex]
            if name == RETURN:   # the value of an exiting branch is what it returns
                live = [v for v in vals if isinstance(v, Value)] or live
            if not live:
                continue
            if any(v is None or isinstance(v, Undefined) for v in live):
                missing = "the true branch" if vals[0] is None else "the false branch"
                self.env[name] = Undefined(name, pos, f"it is not assigned in {missing} of the "
                                                      f"if at line {self.src.file_line(pos)}")
                continue
            if not all(isinstance(v, Value) for v in live):
                first = live[0]
                if all(v == first for v in live):
                    self.env[name] = first
                else:
                    self.env[name] = Undefined(name, pos, "it refers to different objects on "
                                                          "the two branches")
                continue
            t = live[0].type
            for v in live[1:]:
                u = T.unify(t, v.type)
                if u is None and name == RETURN:
                    raise self.src.error(
                        f"{self.fn.name}() returns {t} on one path and {v.type} on another "
                        f"(the paths split here)", pos,
                        "return the same type on every path (tuples of the same length; "
                        "annotate '-> Optional[...]' to allow None)")
                if u is None:
                    raise self.src.error(
                        f"'{name.lstrip('$')}' has type {t} on one branch and {v.type} on the "
                        f"other", pos, "give it the same type on every path (annotate it, "
                        "e.g. 'x: Optional[int] = None')")
                t = u
            for i, (blk, v, ex) in enumerate(zip(blocks, vals, exits)):
                with self.graph.insert_point(blk):
                    if ex and (v is None or not isinstance(v, Value) or
                               not T.is_subtype(v.type, t)):
                        v = self.graph.emit(Prim.Uninitialized, [], [t]).output
                    outs[i].append(self.coerce(v, t, pos, f"'{name}'") if isinstance(v, Value)
                                   else v)
            out = node.add_output(t)
            if not name.startswith("$"):
                out.name = name
            self.env[name] = out
        for blk, o in zip(blocks, outs):
            blk.set_outputs(o)

    # --- Optional refinement ----------------------------------------------------------------------
    def refinements(self, test: S.Expr):
        """(names refined in the true branch, in the false branch) by ``is None`` tests."""
        def one(e):
            if isinstance(e, S.Call) and isinstance(e.func, S.Name) and \
                    e.func.id == "isinstance" and len(e.args) == 2 and \
                    isinstance(e.args[0], S.Name):
                return e.args[0].id, True      # only Optional values are refined by it
            if (isinstance(e, S.Compare) and len(e.ops) == 1 and isinstance(e.left, S.Name)
                    and isinstance(e.comparators[0], S.Constant)
                    and e.comparators[0].value is None and e.ops[0] in ("is", "is not")):
                return e.left.id, e.ops[0] == "is not"
            return None

        t, f = [], []
        parts = test.values if isinstance(test, S.BoolOp) else [test]
        for e in parts:
            r = one(e)
            if r is None:
                continue
            name, not_none_when_true = r
            if isinstance(test, S.BoolOp) and test.op == "and" and not_none_when_true:
                t.append(name)
            elif isinstance(test, S.BoolOp) and test.op == "or" and not not_none_when_true:
                f.append(name)
            elif not isinstance(test, S.BoolOp):
                (t if not_none_when_true else f).append(name)
        return t, f

    def apply_refinements(self, names: list[str]) -> None:
        for n in names:
            v = self.env.get(n)
            if isinstance(v, Value) and isinstance(v.type, T.OptionalType):
                out = self.graph.emit(Prim.unchecked_cast, [v], [v.type.elem]).output
                self.env[n] = out


_RAISED = "the path raises"


class _Exit(S.Stmt):
    """Synthetic: leave the current loop or function (after a loop whose body returned)."""


def _text(e: S.Expr) -> str:
    if isinstance(e, S.Name):
        return e.id
    return "target"


__all__ = ["FunctionCompiler", "PyObj"]
