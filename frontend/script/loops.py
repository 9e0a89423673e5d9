"""Loops -> prim::Loop (mixed into FunctionCompiler).

``while`` and ``for`` over ranges, sequences and tensors become prim::Loop carrying the names the
body rebinds (types widened until they are stable). Loops over tuples and module containers are
unrolled at compile time; with break/continue each unrolled copy is a one-trip loop.
"""

from __future__ import annotations

import builtins

from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.flow import (
    BROKE,
    INT_MAX,
    RETURN,
    RETURNED,
    _contains,
    assigned_names,
    target_names,
)
from graphtorch.frontend.script.values import Undefined
from graphtorch.ir import types as T
from graphtorch.ir.graph import Value
from graphtorch.ir.kinds import Prim


class LoopCompiler:
    def stmt_While(self, s):
        def test():
            return self.condition(s.test)

        self.loop(s.pos, self.const(INT_MAX), test, lambda it: None, s.body)

    def stmt_For(self, s):
        self.compile_for(s)

    def loop(self, pos, trip: Value, test, bind, body: list[S.Stmt],
             target: S.Expr | None = None) -> None:
        """prim::Loop(trip, cond0, carried...); ``bind(iter_value)`` assigns the loop target.

        The target's names are carried too: after the loop they hold the last item (or their
        value before the loop when it ran zero times), as in Python."""
        rebound = target_names(target) + assigned_names(body)
        rebound = list(dict.fromkeys(rebound))
        names = [n for n in rebound if isinstance(self.env.get(n), Value) and n != BROKE]
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
            if bad and bad[0] == RETURN:
                raise self.src.error(
                    f"{self.fn.name}() returns {types[RETURN]} on one path and "
                    f"{body_types[RETURN]} on another (inside this loop)", pos,
                    "return the same type on every path")
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
        for n in rebound:
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

    def if_value(self, cond: Value, then, otherwise, pos=None) -> Value:
        """A prim::If producing one value from two thunks (both give the same type)."""
        node = self.graph.emit(Prim.If, [cond], [])
        tb, fb = node.add_block(), node.add_block()
        with self.graph.insert_point(tb):
            a = then()
        with self.graph.insert_point(fb):
            b = otherwise()
        t = T.unify(a.type, b.type)
        if t is None:
            node.destroy()
            raise self.src.error(f"this expression is {a.type} on one path and {b.type} on the "
                                 f"other", pos, "give both results the same type")
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

                return self.loop(s.pos, trip, lambda: self.const(True), bind, s.body, s.target)
        seqs: list = []
        shape = self.iteration_shape(it, seqs)
        return self.for_over(s, seqs, it.pos, shape)

    def iteration_shape(self, it: S.Expr, seqs: list):
        """Flatten ``enumerate``/``zip`` (nested too) into ``seqs``; the result says how an item
        is built: an index into ``seqs``, or a tuple of such shapes. A counter is an
        ``_Counter`` entry of ``seqs``."""
        if isinstance(it, S.Call) and isinstance(it.func, S.Name) and \
                it.func.id in ("enumerate", "zip") and self.env.get(it.func.id) is None and \
                self.lookup_global_or_none(it.func.id) is getattr(builtins, it.func.id):
            if it.func.id == "enumerate":
                start = [k.value for k in it.keywords if k.name == "start"]
                if len(it.args) + len(start) not in (1, 2) or len(it.args) not in (1, 2) or \
                        any(k.name != "start" for k in it.keywords):
                    raise self.src.error("enumerate() takes an iterable and an optional start",
                                         it.pos)
                first = (it.args[1:] + start or [None])[0]
                begin = self.const(0) if first is None else self.expr_value(first)
                self.expect(begin, T.INT, it.pos, "enumerate() start")
                seqs.append(_Counter(begin))
                counter = len(seqs) - 1
                return (counter, self.iteration_shape(it.args[0], seqs))
            if it.keywords:
                raise self.src.error("zip() keyword arguments are not supported in script",
                                     it.pos)
            if not it.args:
                raise self.src.error("zip() needs at least one iterable in script", it.pos)
            return tuple(self.iteration_shape(a, seqs) for a in it.args)
        seqs.append(self.expr(it))
        return len(seqs) - 1

    def lookup_global_or_none(self, name: str):
        try:
            return self.lookup_global(name)
        except KeyError:
            return None

    def unrolled_range(self, s: S.For, args: list[Value]) -> None:
        """``for i in range(len(self.layers))``: unrolled, so ``self.layers[i]`` is static."""
        if not all(a.is_constant for a in args):
            raise self.src.error("range over len(<modules>) needs constant bounds", s.pos)
        ks = range(*(self.graph.constant_value(a) for a in args))
        self.unroll(s, [lambda k=k: self.assign(s.target, self.const(k), s.pos) for k in ks])

    def unroll(self, s: S.For, binds: list) -> None:
        """One copy of the body per item; ``binds[k]()`` binds the target to item k.

        With break/continue/return, each copy is a one-trip prim::Loop (so ``continue`` ends the
        copy), ``break`` also sets a flag, and every later copy runs only while the flag is False
        (and nothing has returned).
        """
        returns = _contains(s.body, (S.Return,), True) is not None
        if _contains(s.body, (S.Break, S.Continue), False) is None and not returns:
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
                          body, s.target)

            if k == 0:
                one()
            else:
                # NOTE: a return inside a copy (a one-trip loop) skips every later copy too
                go_on = S.UnaryOp(s.pos, "not", S.Name(s.pos, flag))
                if returns:
                    go_on = S.BoolOp(s.pos, "and", [
                        go_on, S.UnaryOp(s.pos, "not", S.Name(s.pos, RETURNED))])
                self.stmt(S.If(s.pos, go_on, [_Run(s.pos, one)], []))
        self.env.pop(flag, None)

    def for_over(self, s: S.For, seqs: list, pos, shape) -> None:
        """Iterate ``seqs`` in lock step (zip); a ``_Counter`` entry is the enumerate counter;
        ``shape`` (see iteration_shape) builds each item from the entries."""
        static = [None if isinstance(q, _Counter) else self.static_items(q, pos) for q in seqs]
        if any(x is not None for x in static if x is not ...):
            # a tuple or module container: unroll with compile-time indices
            lengths = [len(x) for x in static if x is not None and x is not ...]
            n = min(lengths)

            def bind(k):
                items = []
                for q, st in zip(seqs, static):
                    if isinstance(q, _Counter):
                        items.append(self.counter_at(q, self.const(k)))
                    elif st is not None:
                        items.append(st[k])
                    else:
                        items.append(self.index_value(q, self.const(k), pos))
                self.assign(s.target, self.build_item(shape, items, s.target, False), s.pos)

            self.unroll(s, [lambda k=k: bind(k) for k in range(n)])
            return
        lengths = [self.length(q, pos) for q in seqs if not isinstance(q, _Counter)]
        trip = lengths[0]
        for n in lengths[1:]:
            trip = self.scalar("prim::min", [trip, n], T.INT)

        def bind(i):
            items = [self.counter_at(q, i) if isinstance(q, _Counter) else
                     self.index_value(q, i, pos) for q in seqs]
            self.assign(s.target, self.build_item(shape, items, s.target, True), s.pos)

        self.loop(s.pos, trip, lambda: self.const(True), bind, s.body, s.target)

    def counter_at(self, counter: _Counter, i: Value) -> Value:
        start = counter.start
        if start.is_constant and self.graph.constant_value(start) == 0:
            return i
        return self.scalar("prim::add", [start, i], T.INT)

    def build_item(self, shape, items: list, target: S.Expr, as_value: bool):
        """The loop target's value: a tuple (or, when the target unpacks it and items may be
        modules, a compile-time list) shaped like the enumerate/zip nesting."""
        if isinstance(shape, int):
            return items[shape]
        parts = [self.build_item(x, items, _sub(target, k), as_value)
                 for k, x in enumerate(shape)]
        if isinstance(target, (S.Tuple, S.List)) or not as_value and \
                not all(isinstance(p, Value) for p in parts):
            return parts
        return self.tuple_of(parts)

    def tuple_of(self, items: list) -> Value:
        vals = [self.as_value(v, None) for v in items]
        return self.graph.emit(Prim.TupleConstruct, vals,
                               [T.TupleType(tuple(v.type for v in vals))]).output

    def stmt__Run(self, s):
        s.fn()


class _Counter:
    """The counter of an ``enumerate`` (starting at ``start``) among zipped sequences."""

    def __init__(self, start: Value):
        self.start = start


def _sub(target: S.Expr, k: int) -> S.Expr | None:
    if isinstance(target, (S.Tuple, S.List)) and k < len(target.elts):
        return target.elts[k]
    return None


class _Run(S.Stmt):
    """Synthetic: compile by calling ``fn`` (a piece built by the compiler itself)."""

    def __init__(self, pos, fn):
        super().__init__(pos)
        self.fn = fn


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
