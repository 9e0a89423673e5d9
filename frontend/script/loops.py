"""Loops -> prim::Loop (mixed into FunctionCompiler).

``while`` and ``for`` over ranges, sequences and tensors become prim::Loop carrying the names the
body rebinds (types widened until they are stable); break / continue / return go through the exit
flags of exits.py. Loops over tuples and module containers are unrolled at compile time: after a
copy that may have broken or returned, the later copies are guarded by the same flags.
"""

from __future__ import annotations

import builtins

from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.builtin_calls import is_range_call
from graphtorch.frontend.script.exits import BRK, EXIT, NO_VALUE, RET, RV
from graphtorch.frontend.script.flow import INT_MAX, assigned_names, contains, target_names
from graphtorch.frontend.script.state import Lowerer
from graphtorch.frontend.script.values import PyObj, Undefined
from graphtorch.ir import types as T
from graphtorch.ir.graph import Value
from graphtorch.ir.kinds import Prim


def _same_object(a, b) -> bool:
    """Two compile-time bindings of a name denote the same object."""
    if a is b:
        return True
    if isinstance(a, PyObj) and isinstance(b, PyObj):
        return a.obj is b.obj or (isinstance(a.obj, slice) and a.obj == b.obj)
    return False


class LoopLowerer(Lowerer):
    def stmt_While(self, s):
        def test():
            return self.exprs.condition(s.test)

        broke = self._loop(s.pos, self.const(INT_MAX), test, lambda it: None, s.body,
                           track_break=bool(s.orelse))
        if self.exprs.static_condition(s.test) is True and \
                contains(s.body, (S.Break,), False) is None:
            self.exits.never_falls_through()
        if s.orelse:
            self.exits.loop_else(broke, s.orelse, s.pos)

    def stmt_For(self, s):
        broke = self._compile_for(s)
        if s.orelse:
            self.exits.loop_else(broke, s.orelse, s.pos)

    def _loop(self, pos, trip: Value, test, bind, body: list[S.Stmt],
              target: S.Expr | None = None, track_break: bool = False) -> Value:
        """prim::Loop(trip, cond0, carried...); ``bind(iter_value)`` assigns the loop target.

        The target's names are carried too: after the loop they hold the last item (or their
        value before the loop when it ran zero times), as in Python. A body that returns also
        carries ``$ret`` and the returned value. With ``track_break`` (a loop with an ``else``)
        ``$brk`` is carried as well: the last iteration's flag says whether the loop broke.
        Returns that flag (the constant False when not tracked or the body has no break)."""
        rebound = target_names(target) + assigned_names(body)
        if contains(body, (S.Return,), True):
            rebound += [RET, RV]
        track_break = track_break and contains(body, (S.Break,), False) is not None
        if track_break:     # zero iterations: no break
            self.env[BRK] = self.const(False)
            rebound.append(BRK)
        rebound = list(dict.fromkeys(rebound))
        if RV in rebound and self.env[RV] is NO_VALUE and self.state.return_type is not None:
            self.env[RV] = self.graph.emit(Prim.Uninitialized, [], [self.state.return_type]).output
        names = [n for n in rebound if isinstance(self.env.get(n), Value)]
        types = {n: self.env[n].type for n in names}
        cond0 = test()
        for _ in range(5):
            node, body_types = self._try_loop(pos, trip, cond0, test, bind, body, names, types)
            if RV in rebound and RV not in names and RV in body_types:
                # NOTE: before the first return the result has no type yet: learn it from the body
                node.destroy()
                self.env[RV] = self.graph.emit(Prim.Uninitialized, [], [body_types[RV]]).output
                names.append(RV)
                types[RV] = body_types[RV]
                continue
            widened = {n: T.unify(types[n], body_types[n]) for n in names}
            bad = [n for n in names if widened[n] is None]
            if bad and bad[0] == RV:
                raise self.src.error(
                    f"{self.state.fn.name}() returns {types[RV]} on one path and "
                    f"{body_types[RV]} on another (inside this loop)", pos,
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
            if not n.startswith("$"):
                out.name = n
        broke = self.env[BRK] if track_break else self.const(False)
        self.exits.after_loop(self.env[RET] if RET in names else None)
        for n in rebound:
            if n not in names and not n.startswith("$") and n not in self.env:
                self.env[n] = Undefined(n, pos, "it is first assigned inside a loop, which may "
                                                "run zero times")
        return broke

    def _try_loop(self, pos, trip, cond0, test, bind, body, names, types):
        before = dict(self.env)
        inputs = [trip, cond0] + [self.exprs.coerce(before[n], types[n], pos, f"'{n}'")
                                  for n in names]
        node = self.graph.emit(Prim.Loop, inputs, [types[n] for n in names])
        blk = node.add_block()
        it = blk.add_input("i", T.INT)
        for n in names:
            self.env[n] = blk.add_input(n, types[n])
        entry = dict(self.env)
        self.state.loop_depth += 1
        self.state.unrolled.append(False)
        with self.graph.insert_point(blk):
            bind(it)
            self.exits.clear_exits()      # an iteration starts when nothing has left
            self.exits.block(body)
            if self.exits.raised():       # the iteration raises: its results are never read
                self.env = entry
                cond = self.const(False)
            else:
                cond = self.exits.loop_condition(test)
            outs = [cond]
            body_types = {}
            for n, old in before.items():   # a compile-time object (slice, function) rebound
                if n not in names and not isinstance(old, Value) and n in self.env and \
                        not isinstance(self.env[n], Value) and \
                        not _same_object(self.env[n], old):
                    raise self.src.error(f"'{n}' refers to a different object after an "
                                         "iteration of this loop", pos,
                                         "assign it once, before the loop")
            for n in names:
                v = self.env[n]
                if not isinstance(v, Value):
                    raise self.src.error(f"'{n}' changes its kind inside the loop", pos)
                body_types[n] = v.type
                outs.append(v)
            if RV not in names and isinstance(self.env.get(RV), Value):
                body_types[RV] = self.env[RV].type
        self.state.loop_depth -= 1
        self.state.unrolled.pop()
        if any(not T.is_subtype(body_types[n], types[n]) for n in names):
            blk.set_outputs(outs)   # widened and compiled again by the caller
        else:
            blk.set_outputs([cond] + [self.exprs.coerce(o, types[n], pos, n)
                                      for n, o in zip(names, outs[1:])])
        self.env = before
        return node, body_types

    def if_value(self, cond: Value, then, otherwise, pos=None,
                 expected: T.Type | None = None) -> Value:
        """A prim::If producing one value from two thunks (both give the same type, or types
        that ``expected``, the type the context declares, holds: ``-> Any``, ``x: Any = ...``)."""
        node = self.graph.emit(Prim.If, [cond], [])
        tb, fb = node.add_block(), node.add_block()
        with self.graph.insert_point(tb):
            a = then()
        with self.graph.insert_point(fb):
            b = otherwise()
        t = T.unify(a.type, b.type)
        if t is None and expected is not None and T.is_subtype(a.type, expected) and \
                T.is_subtype(b.type, expected):
            with self.graph.insert_point(tb):
                a = self.exprs.coerce(a, expected, pos, "this branch's value")
            with self.graph.insert_point(fb):
                b = self.exprs.coerce(b, expected, pos, "this branch's value")
            t = expected
        if t is None:
            node.destroy()
            raise self.src.error(f"this expression is {a.type} on one path and {b.type} on the "
                                 f"other", pos, "give both results the same type")
        tb.set_outputs([a])
        fb.set_outputs([b])
        node.add_output(t)
        return node.output

    def _compile_for(self, s: S.For) -> Value:
        """Compile the loop; returns whether it broke (see ``_loop``)."""
        it = s.iter
        if isinstance(it, S.Call) and isinstance(it.func, S.Name) and not it.keywords:
            fname = it.func.id
            if fname == "range" and self.env.get("range") is None:
                args = [self.exprs.lower_value(a) for a in it.args]
                for a, e in zip(args, it.args):
                    self.exprs.expect(a, T.INT, e.pos, "range() argument")
                if any(a in self.state.static_lens for a in args):
                    return self._unrolled_range(s, args)
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
                    self.stmts.assign(s.target, v, s.pos)

                return self._loop(s.pos, trip, lambda: self.const(True), bind, s.body, s.target,
                                  track_break=bool(s.orelse))
        seqs: list = []
        shape = self._iteration_shape(it, seqs)
        return self._for_over(s, seqs, it.pos, shape)

    def _iteration_shape(self, it: S.Expr, seqs: list):
        """Flatten ``enumerate``/``zip`` (nested too) into ``seqs``; the result says how an item
        is built: an index into ``seqs``, or a tuple of such shapes. A counter is an
        ``_Counter`` entry of ``seqs``."""
        if isinstance(it, S.Call) and isinstance(it.func, S.Name) and \
                it.func.id in ("enumerate", "zip") and self.env.get(it.func.id) is None and \
                self.state.lookup_global_or_none(it.func.id) is getattr(builtins, it.func.id):
            if it.func.id == "enumerate":
                start = [k.value for k in it.keywords if k.name == "start"]
                if len(it.args) + len(start) not in (1, 2) or len(it.args) not in (1, 2) or \
                        any(k.name != "start" for k in it.keywords):
                    raise self.src.error("enumerate() takes an iterable and an optional start",
                                         it.pos)
                first = (it.args[1:] + start or [None])[0]
                begin = self.const(0) if first is None else self.exprs.lower_value(first)
                self.exprs.expect(begin, T.INT, it.pos, "enumerate() start")
                seqs.append(_Counter(begin))
                counter = len(seqs) - 1
                return (counter, self._iteration_shape(it.args[0], seqs))
            if it.keywords:
                raise self.src.error("zip() keyword arguments are not supported in script",
                                     it.pos)
            if not it.args:
                raise self.src.error("zip() needs at least one iterable in script", it.pos)
            return tuple(self._iteration_shape(a, seqs) for a in it.args)
        if is_range_call(it, self):    # zip(xs, range(n)): the list of the range
            seqs.append(self.builtin_calls.range_list(it))
        else:
            seqs.append(self.exprs.lower(it))
        return len(seqs) - 1

    def _unrolled_range(self, s: S.For, args: list[Value]) -> Value:
        """``for i in range(len(self.layers))``: unrolled, so ``self.layers[i]`` is static."""
        if not all(a.is_constant for a in args):
            raise self.src.error("range over len(<modules>) needs constant bounds", s.pos)
        ks = range(*(self.graph.constant_value(a) for a in args))
        return self._unroll(s, [lambda k=k: self.stmts.assign(s.target, self.const(k), s.pos)
                                for k in ks])

    def _unroll(self, s: S.For, binds: list) -> Value:
        """One copy of the body per item; ``binds[k]()`` binds the target to item k. Each copy
        starts with nothing left; after a copy that may have broken or returned, the later copies
        run under ``if $brk or $ret``'s else branch. Returns whether the loop broke."""
        if contains(s.body, (S.Break, S.Continue), False) is None and \
                contains(s.body, (S.Return,), True) is None:
            for bind in binds:
                bind()
                self.exits.block(s.body)
            return self.const(False)
        self.state.loop_depth += 1
        self.state.unrolled.append(True)
        self._unroll_from(s, binds, 0)
        self.state.unrolled.pop()
        self.state.loop_depth -= 1
        broke = self.env[BRK]
        self.exits.after_loop(None if self.exits.flag(RET) is False else self.env[RET])
        return broke

    def _unroll_from(self, s: S.For, binds: list, k: int) -> None:
        for j in range(k, len(binds)):
            binds[j]()
            self.env[EXIT] = self.env[BRK] = self.const(False)
            self.exits.block(s.body)
            if self.exits.raised():
                return
            stop = [self.exits.flag(BRK), self.exits.flag(RET)]
            if True in stop or j + 1 == len(binds):
                return
            if stop == [False, False]:
                continue
            brk, ret = self.env[BRK], self.env[RET]
            left = ret if stop[0] is False else brk if stop[1] is False else \
                self.if_value(ret, lambda: self.const(True), lambda b=brk: b)

            def rest(j=j):
                self.exits.clear_exits()
                self._unroll_from(s, binds, j + 1)

            self.exits.branches(left, None, rest, s.pos)
            return

    def _for_over(self, s: S.For, seqs: list, pos, shape) -> Value:
        """Iterate ``seqs`` in lock step (zip); a ``_Counter`` entry is the enumerate counter;
        ``shape`` (see iteration_shape) builds each item from the entries."""
        static = [None if isinstance(q, _Counter) else self.exprs.static_items(q, pos)
                  for q in seqs]
        if any(x is not None for x in static if x is not ...):
            # a tuple or module container: unroll with compile-time indices
            lengths = [len(x) for x in static if x is not None and x is not ...]
            n = min(lengths)

            def bind(k):
                items = []
                for q, st in zip(seqs, static):
                    if isinstance(q, _Counter):
                        items.append(self._counter_at(q, self.const(k)))
                    elif st is not None:
                        items.append(st[k])
                    else:
                        items.append(self.exprs.index_value(q, self.const(k), pos))
                self.stmts.assign(s.target, self._build_item(shape, items, s.target, False), s.pos)

            return self._unroll(s, [lambda k=k: bind(k) for k in range(n)])
        lengths = [self.exprs.length(q, pos) for q in seqs if not isinstance(q, _Counter)]
        trip = lengths[0]
        for n in lengths[1:]:
            trip = self.scalar("prim::min", [trip, n], T.INT)

        def bind(i):
            items = [self._counter_at(q, i) if isinstance(q, _Counter) else
                     self.exprs.index_value(q, i, pos) for q in seqs]
            self.stmts.assign(s.target, self._build_item(shape, items, s.target, True), s.pos)

        return self._loop(s.pos, trip, lambda: self.const(True), bind, s.body, s.target,
                          track_break=bool(s.orelse))

    def _counter_at(self, counter: _Counter, i: Value) -> Value:
        start = counter.start
        if start.is_constant and self.graph.constant_value(start) == 0:
            return i
        return self.scalar("prim::add", [start, i], T.INT)

    def _build_item(self, shape, items: list, target: S.Expr, as_value: bool):
        """The loop target's value: a tuple (or, when the target unpacks it and items may be
        modules, a compile-time list) shaped like the enumerate/zip nesting."""
        if isinstance(shape, int):
            return items[shape]
        parts = [self._build_item(x, items, _sub(target, k), as_value)
                 for k, x in enumerate(shape)]
        if isinstance(target, (S.Tuple, S.List)) or not as_value and \
                not all(isinstance(p, Value) for p in parts):
            return parts
        return self.modules.tuple_of(parts)


class _Counter:
    """The counter of an ``enumerate`` (starting at ``start``) among zipped sequences."""

    def __init__(self, start: Value):
        self.start = start


def _sub(target: S.Expr, k: int) -> S.Expr | None:
    if isinstance(target, (S.Tuple, S.List)) and k < len(target.elts):
        return target.elts[k]
    return None
