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
from graphtorch.frontend.script.expressions import ExprCompiler
from graphtorch.frontend.script.indexing import IndexCompiler
from graphtorch.frontend.script.values import ModuleRef, PyObj, Undefined
from graphtorch.ir import types as T
from graphtorch.ir.graph import Block, Graph, Value
from graphtorch.ir.kinds import Prim

RETURN = "$return"
RETURNED = "$returned"     # set by a return inside a loop: the code after the loop is skipped
BROKE = "$broke"
INT_MAX = 2**63 - 1


def always_exits(stmts: list[S.Stmt]) -> bool:
    """Whether every path through ``stmts`` leaves by return/break/continue/raise."""
    for s in stmts:
        if isinstance(s, (S.Return, S.Break, S.Continue, S.Raise)):
            return True
        if isinstance(s, S.If) and always_exits(s.body) and always_exits(s.orelse):
            return True
    return False


def assigned_names(stmts: list[S.Stmt]) -> list[str]:
    """Names a statement list may rebind (in order of first appearance)."""
    out: dict[str, None] = {}

    def target(e):
        if isinstance(e, S.Name):
            out[e.id] = None
        elif isinstance(e, (S.Tuple, S.List)):
            for x in e.elts:
                target(x)

    def visit(ss):
        for s in ss:
            if isinstance(s, S.Assign):
                for t in s.targets:
                    target(t)
            elif isinstance(s, (S.AnnAssign, S.AugAssign)):
                target(s.target)
            elif isinstance(s, S.If):
                visit(s.body)
                visit(s.orelse)
            elif isinstance(s, S.For):
                target(s.target)
                visit(s.body)
            elif isinstance(s, S.While):
                visit(s.body)
            elif isinstance(s, S.Break):
                out[BROKE] = None
            elif isinstance(s, S.Return):
                out[RETURN] = None
                out[RETURNED] = None

    visit(stmts)
    return list(out)


def _contains(stmts: list[S.Stmt], kinds: tuple, into_loops: bool) -> S.Stmt | None:
    for s in stmts:
        if isinstance(s, kinds):
            return s
        inner = []
        if isinstance(s, S.If):
            inner = s.body + s.orelse
        elif isinstance(s, (S.For, S.While)) and into_loops:
            inner = s.body
        found = _contains(inner, kinds, into_loops)
        if found is not None:
            return found
    return None


class FunctionCompiler(ExprCompiler, CallCompiler, IndexCompiler):
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
            if isinstance(ret, Undefined):
                raise self.src.error(f"{self.fn.name} does not return a value on every path",
                                     self.fn.pos, "add a return statement at the end")
            ret = self.as_value(ret, self.fn.pos)
            if self.return_type is not None:
                ret = self.coerce(ret, self.return_type, self.fn.pos, "the return value")
        g.set_outputs([ret])
        # NOTE: the executor fills arguments left out of a call from these
        g.defaults = {k: v for k, v in _defaults(self.py_fn).items() if k in self.arg_names}
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

    def stmt_AugAssign(self, s):
        if isinstance(s.target, S.Name):
            cur = self.expr_value(s.target)
            if isinstance(cur.type, T.ListType) and s.op == "+":
                self.scalar("prim::list_extend", [cur, self.expr_value(s.value)], None)
                return
            new = self.binop(s.op, cur, self.expr_value(s.value), s.pos)
            self.assign(s.target, new, s.pos)
            return
        current = self.expr_value(s.target)
        new = self.binop(s.op, current, self.expr_value(s.value), s.pos)
        self.assign(s.target, new, s.pos)

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

    # --- loops ------------------------------------------------------------------------------------
    def stmt_While(self, s):
        def test():
            return self.condition(s.test)

        self.loop(s.pos, self.const(INT_MAX), test, lambda it: None, s.body)

    def stmt_For(self, s):
        self.compile_for(s)

    def loop(self, pos, trip: Value, test, bind, body: list[S.Stmt]) -> None:
        """prim::Loop(trip, cond0, carried...); ``bind(iter_value)`` assigns the loop target."""
        names = [n for n in assigned_names(body)
                 if isinstance(self.env.get(n), Value) and n != BROKE]
        types = {n: self.env[n].type for n in names}
        # NOTE: before the first return the result has no type yet: learn it from the body
        untyped_return = RETURN in names and self.env[RETURN] is self.no_return and \
            self.return_type is None
        if RETURN in names and self.return_type is not None and \
                self.env[RETURN] is self.no_return:
            self.env[RETURN] = self.graph.emit(Prim.Uninitialized, [], [self.return_type]).output
            types[RETURN] = self.return_type
        cond0 = test()
        for _ in range(4):
            node, body_types = self.try_loop(pos, trip, cond0, test, bind, body, names, types)
            widened = {n: T.unify(types[n], body_types[n]) for n in names}
            if untyped_return:
                t = body_types[RETURN]
                widened[RETURN] = t.elem if isinstance(t, T.OptionalType) else t
                node.destroy()
                self.env[RETURN] = self.graph.emit(Prim.Uninitialized, [],
                                                   [widened[RETURN]]).output
                untyped_return = False
                types = widened
                continue
            bad = [n for n in names if widened[n] is None]
            if bad:
                raise self.src.error(
                    f"'{bad[0]}' has type {types[bad[0]]} before the loop and "
                    f"{body_types[bad[0]]} after an iteration", pos,
                    "give it one type in every iteration (annotate it before the loop)")
            if widened == types:
                break
            node.destroy()
            types = widened
        for n, out in zip(names, node.outputs):
            self.env[n] = out
            out.name = n
        for n in assigned_names(body):
            if n not in names and n not in (BROKE, RETURN, RETURNED) and n not in self.env:
                self.env[n] = Undefined(n, pos, "it is first assigned inside a loop, which may "
                                                "run zero times")

    def try_loop(self, pos, trip, cond0, test, bind, body, names, types):
        before = dict(self.env)
        inputs = [trip, cond0] + [self.coerce(before[n], types[n], pos, f"'{n}'") for n in names]
        node = self.graph.emit(Prim.Loop, inputs, [types[n] for n in names])
        blk = node.add_block()
        it = blk.add_input("i", T.INT)
        for n in names:
            self.env[n] = blk.add_input(n, types[n])
        self.loop_depth += 1
        with self.graph.insert_point(blk):
            bind(it)
            self.env[BROKE] = self.const(False)
            self.block(body)
            broke = self.env[BROKE]
            if broke.is_constant and self.graph.constant_value(broke) is False:
                cond = test()
            else:
                cond = self.if_value(self.scalar("prim::not", [broke], T.BOOL), test,
                                     lambda: self.const(False))
            outs = [cond]
            body_types = {}
            for n in names:
                v = self.env[n]
                if not isinstance(v, Value):
                    raise self.src.error(f"'{n}' changes its kind inside the loop", pos)
                body_types[n] = v.type
                outs.append(v)
        self.loop_depth -= 1
        if any(not T.is_subtype(body_types[n], types[n]) for n in names):
            blk.set_outputs(outs)   # widened and compiled again by the caller
        else:
            blk.set_outputs([cond] + [self.coerce(o, types[n], pos, n)
                                      for n, o in zip(names, outs[1:])])
        self.env = before
        return node, body_types

    def if_value(self, cond: Value, then, otherwise) -> Value:
        """A prim::If producing one value from two thunks (both give the same type)."""
        node = self.graph.emit(Prim.If, [cond], [])
        tb, fb = node.add_block(), node.add_block()
        with self.graph.insert_point(tb):
            a = then()
        with self.graph.insert_point(fb):
            b = otherwise()
        t = T.unify(a.type, b.type)
        tb.set_outputs([a])
        fb.set_outputs([b])
        node.add_output(t)
        return node.output

    def compile_for(self, s: S.For) -> None:
        it = s.iter
        if isinstance(it, S.Call) and isinstance(it.func, S.Name) and not it.keywords:
            fname = it.func.id
            if fname == "range" and self.env.get("range") is None:
                args = [self.expr_value(a) for a in it.args]
                for a, e in zip(args, it.args):
                    self.expect(a, T.INT, e.pos, "range() argument")
                if any(a in self.static_lens for a in args):
                    return self.unrolled_range(s, args)
                if len(args) == 1:
                    start, stop, step = None, args[0], None
                elif len(args) in (2, 3):
                    start, stop = args[0], args[1]
                    step = args[2] if len(args) == 3 else None
                else:
                    raise self.src.error("range expected 1 to 3 arguments", it.pos)
                if start is None and step is None:
                    trip = stop
                else:
                    trip = self.scalar("prim::range_length",
                                       [start or self.const(0), stop, step or self.const(1)],
                                       T.INT)

                def bind(i):
                    v = i
                    if step is not None:
                        v = self.scalar("prim::mul", [v, step], T.INT)
                    if start is not None:
                        v = self.scalar("prim::add", [start, v], T.INT)
                    self.assign(s.target, v, s.pos)

                return self.loop(s.pos, trip, lambda: self.const(True), bind, s.body)
            if fname in ("enumerate", "zip") and self.env.get(fname) is None:
                seqs = [self.expr(a) for a in it.args]
                if fname == "enumerate":
                    if len(seqs) != 1:
                        raise self.src.error("enumerate() takes one iterable in script", it.pos)
                    return self.for_over(s, [None, seqs[0]], it.pos)
                return self.for_over(s, seqs, it.pos)
        return self.for_over(s, [self.expr(it)], it.pos, single=True)

    def unrolled_range(self, s: S.For, args: list[Value]) -> None:
        """``for i in range(len(self.layers))``: unrolled, so ``self.layers[i]`` is static."""
        if not all(a.is_constant for a in args):
            raise self.src.error("range over len(<modules>) needs constant bounds", s.pos)
        ks = range(*(self.graph.constant_value(a) for a in args))
        self.unroll(s, [lambda k=k: self.assign(s.target, self.const(k), s.pos) for k in ks])

    def unroll(self, s: S.For, binds: list) -> None:
        """One copy of the body per item; ``binds[k]()`` binds the target to item k.

        With break/continue, each copy is a one-trip prim::Loop (so ``continue`` ends the copy),
        ``break`` also sets a flag, and every later copy runs only while the flag is False.
        """
        if _contains(s.body, (S.Break, S.Continue), False) is None:
            for bind in binds:
                bind()
                if self.block(s.body):
                    return
            return
        flag = f"$unrolled_break{id(s)}"
        self.env[flag] = self.const(False)
        body = _breaks_to_flag(s.body, flag)
        for k, bind in enumerate(binds):
            def one(bind=bind):
                self.loop(s.pos, self.const(1), lambda: self.const(True), lambda _: bind(),
                          body)

            if k == 0:
                one()
            else:
                self.stmt(S.If(s.pos, S.UnaryOp(s.pos, "not", S.Name(s.pos, flag)),
                               [_Run(s.pos, one)], []))
        self.env.pop(flag, None)

    def for_over(self, s: S.For, seqs: list, pos, single: bool = False) -> None:
        """Iterate several sequences in lock step (zip); ``None`` stands for the counter."""
        static = [self.static_items(q, pos) for q in seqs]
        if any(x is not None for x in static if x is not ...):
            # a tuple or module container: unroll with compile-time indices
            lengths = [len(x) for x in static if x is not None and x is not ...]
            n = min(lengths)

            def bind(k):
                items = []
                for q, st in zip(seqs, static):
                    if q is None:
                        items.append(self.const(k))
                    elif st is not None:
                        items.append(st[k])
                    else:
                        items.append(self.index_value(q, self.const(k), pos))
                self.assign(s.target, items[0] if single else items, s.pos)

            self.unroll(s, [lambda k=k: bind(k) for k in range(n)])
            return
        lengths = [self.length(q, pos) for q in seqs if q is not None]
        trip = lengths[0]
        for n in lengths[1:]:
            trip = self.scalar("prim::min", [trip, n], T.INT)

        def bind(i):
            items = [i if q is None else self.index_value(q, i, pos) for q in seqs]
            self.assign(s.target, items[0] if single else self.tuple_of(items), s.pos)

        self.loop(s.pos, trip, lambda: self.const(True), bind, s.body)

    def tuple_of(self, items: list) -> Value:
        vals = [self.as_value(v, None) for v in items]
        return self.graph.emit(Prim.TupleConstruct, vals,
                               [T.TupleType(tuple(v.type for v in vals))]).output

    # --- Optional refinement ----------------------------------------------------------------------
    def refinements(self, test: S.Expr):
        """(names refined in the true branch, in the false branch) by ``is None`` tests."""
        def one(e):
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


def _defaults(fn) -> dict:
    import inspect

    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return {}
    return {k: p.default for k, p in sig.parameters.items()
            if p.default is not inspect.Parameter.empty}


class _Run(S.Stmt):
    """Synthetic: compile by calling ``fn`` (a piece built by the compiler itself)."""

    def __init__(self, pos, fn):
        super().__init__(pos)
        self.fn = fn


def _stmt_run(self, s: _Run):
    s.fn()


FunctionCompiler.stmt__Run = _stmt_run


def _breaks_to_flag(stmts: list[S.Stmt], flag: str) -> list[S.Stmt]:
    """``break`` -> ``flag = True; continue`` (not inside nested loops, which own their breaks)."""
    out: list[S.Stmt] = []
    for s in stmts:
        if isinstance(s, S.Break):
            out += [S.Assign(s.pos, [S.Name(s.pos, flag)], S.Constant(s.pos, True)),
                    S.Continue(s.pos)]
        elif isinstance(s, S.If):
            out.append(S.If(s.pos, s.test, _breaks_to_flag(s.body, flag),
                            _breaks_to_flag(s.orelse, flag)))
        else:
            out.append(s)
    return out


class _Exit(S.Stmt):
    """Synthetic: leave the current loop or function (after a loop whose body returned)."""


def _text(e: S.Expr) -> str:
    if isinstance(e, S.Name):
        return e.id
    return "target"


__all__ = ["FunctionCompiler", "PyObj"]
