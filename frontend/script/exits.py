"""Early exits (``return`` / ``break`` / ``continue`` / ``raise``) -> structured IR, by one
transformation (mixed into FunctionCompiler).

The exit state of the path being compiled lives in the environment, as SSA values like any
variable (in the spirit of TorchScript's exit transform):

- ``$exit``: True once the path has left the statements it is in (return, break or continue);
- ``$ret``: True once it returned (a return leaves every enclosing loop too);
- ``$brk``: True once it broke out of the innermost loop;
- ``$rv``: the value returned (``NO_VALUE`` before any return);
- ``$raised``: a Python ``True`` (not a value) once the path raised; nothing after it runs.

Every statement is compiled with ``$exit`` a constant False. After a statement that may have
exited, the rest of its block runs under ``if $exit: <nothing> else: <rest>`` (nothing is emitted
when ``$exit`` is a constant: True drops the rest). Where paths merge, the flags merge like any
variable; a flag that is the same constant on every path stays a constant, so an exit that is
certain costs no IR. A loop body starts with ``$exit = $brk = False`` and the loop goes on while
``not ($brk or $ret) and <test>``; after the loop ``$exit = $ret``. Variables of a path that
returned or raised are dead where paths merge (``prim::Uninitialized`` stands in for them).
"""

from __future__ import annotations

from graphtorch.errors import ScriptError
from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.state import Lowerer
from graphtorch.frontend.script.values import Undefined
from graphtorch.ir import types as T
from graphtorch.ir.graph import Block, Value
from graphtorch.ir.kinds import Prim

EXIT = "$exit"
RET = "$ret"
BRK = "$brk"
RV = "$rv"
RAISED = "$raised"
FLAGS = (EXIT, RET, BRK)


class _NoValue:
    """The return value before any ``return`` has run."""

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE = _NoValue()


class ExitLowerer(Lowerer):
    """Exit flags, guarded statement lists and the merge of paths (see the module docstring)."""

    # --- flags ------------------------------------------------------------------------------------
    def start_exits(self) -> None:
        self.env[RV] = NO_VALUE
        self.clear_exits()

    def clear_exits(self) -> None:
        """The path has not left: every flag is the constant False."""
        false = self.const(False)
        for f in FLAGS:
            self.env[f] = false

    def flag(self, name: str) -> bool | None:
        """A flag's compile-time value: True / False when constant, None when it depends on
        run-time values."""
        v = self.env.get(name)
        if v is None:
            return False
        if v.is_constant:
            return bool(self.graph.constant_value(v))
        return None

    def raised(self) -> bool:
        return self.env.get(RAISED, False) is True

    def has_left(self, env: dict) -> bool:
        """Whether every run of the path that ended with ``env`` has left (exited or raised)."""
        v = env.get(EXIT)
        return env.get(RAISED, False) is True or \
            v is not None and v.is_constant and self.graph.constant_value(v) is True

    # --- statement lists --------------------------------------------------------------------------
    def block(self, stmts: list[S.Stmt]) -> None:
        """Compile statements; after one that may have exited the rest is guarded by ``$exit``."""
        for i, s in enumerate(stmts):
            if self.raised():
                return
            left = self.flag(EXIT)
            if left is True:
                return          # every path has left: the rest is unreachable
            if left is None:   # the paths split at the statement before: errors point there
                self._guard(lambda rest=stmts[i:]: self.block(rest),
                            stmts[i - 1].pos if i else s.pos)
                return
            self.stmts.lower(s)

    def _guard(self, rest, pos) -> None:
        """``if $exit: pass else: rest()`` (inside the else branch nothing has exited)."""
        def exited():
            self.env[EXIT] = self.const(True)
            if not self.state.loop_depth:     # outside loops only a return leaves
                self.env[RET] = self.env[EXIT]

        def go_on():
            self.clear_exits()
            self._narrow_to_staying_paths()
            rest()

        self.branches(self.env[EXIT], exited, go_on, pos)

    def _narrow_to_staying_paths(self) -> None:
        """Past ``if $exit`` only the paths that stayed run: a name merged from a path that
        left (``x = None; continue``) and from paths that stayed has their narrower type here."""
        stay = self.state.stay_types
        for name, v in list(self.env.items()):
            if not name.startswith("$") and isinstance(v, Value) and v in stay:
                self.env[name] = self.graph.emit(Prim.unchecked_cast, [v], [stay[v]]).output

    def loop_else(self, broke: Value, stmts: list[S.Stmt], pos) -> None:
        """A loop's ``else`` clause, compiled past the loop: it runs on the paths that have not
        left (returned) and where the loop ended without ``break`` (``broke`` False). A
        break/continue inside it belongs to the enclosing loop, as in Python."""
        if self.raised():
            return
        left = self.flag(EXIT)
        if left is True:
            return
        if left is None:   # the loop may have returned
            self._guard(lambda: self.loop_else(broke, stmts, pos), pos)
            return
        if broke.is_constant:
            if not self.graph.constant_value(broke):
                self.block(stmts)
            return
        self.branches(broke, None, lambda: self.block(stmts), pos)

    def branches(self, cond: Value, then, otherwise, pos) -> list[dict]:
        """A prim::If on ``cond``; ``then()`` / ``otherwise()`` compile each branch from the
        current environment (None: an empty branch). Returns the branches' environments."""
        before = dict(self.env)
        node = self.graph.emit(Prim.If, [cond], [])
        blocks = [node.add_block(), node.add_block()]
        envs = []
        for blk, fn in zip(blocks, (then, otherwise)):
            self.env = dict(before)
            with self.graph.insert_point(blk):
                if fn is not None:
                    fn()
            envs.append(self.env)
        self.env = before
        self._merge(node, blocks, envs, before, pos)
        return envs

    # --- exiting statements -----------------------------------------------------------------------
    def stmt_Return(self, s):
        v = self.exprs.lower_value(s.value, self.state.return_type) if s.value is not None \
            else self.const(None)
        if self.state.return_type is not None:
            v = self.exprs.coerce(v, self.state.return_type, s.pos, "the return value")
        self.env[RV] = v
        self.env[RET] = self.env[EXIT] = self.const(True)

    def stmt_Break(self, s):
        if not self.state.loop_depth:
            raise self.src.error("'break' outside loop", s.pos)
        self.env[BRK] = self.env[EXIT] = self.const(True)

    def stmt_Continue(self, s):
        if not self.state.loop_depth:
            raise self.src.error("'continue' not properly in loop", s.pos)
        self.env[EXIT] = self.const(True)

    def stmt_Raise(self, s):
        exc, msg = "Exception", ""
        e = s.exc
        if isinstance(e, S.Call) and isinstance(e.func, S.Name):
            exc = e.func.id
            msg_v = self.exprs.lower_value(e.args[0]) if e.args else self.const("")
        elif isinstance(e, S.Name):
            exc, msg_v = e.id, self.const(msg)
        else:
            msg_v = self.const(msg)
        if msg_v.type != T.STR:
            msg_v = self.scalar("prim::str", [msg_v], T.STR)
        self.graph.emit(Prim.RaiseException, [msg_v], [], {"exc": exc})
        self.env[RAISED] = True

    # --- loops ------------------------------------------------------------------------------------
    def loop_condition(self, test) -> Value:
        """The condition to run another iteration: ``not ($brk or $ret) and test()``."""
        if self.raised() or self.flag(BRK) is True or self.flag(RET) is True:
            return self.const(False)
        go = test
        for f in (BRK, RET):
            if self.flag(f) is None:
                def go(f=f, inner=go):
                    return self.loops.if_value(self.env[f], lambda: self.const(False), inner)
        return go()

    def after_loop(self, ret: Value | None) -> None:
        """Past a loop: its breaks are spent; the path has left only when it returned."""
        false = self.const(False)
        self.env[BRK] = false
        self.env[RET] = ret if ret is not None else false
        self.env[EXIT] = self.env[RET]

    def never_falls_through(self) -> None:
        """Past ``while True:`` without a break: only a return (or a raise) gets here."""
        if isinstance(self.env.get(RV), Value) and self.flag(RET) is not False:
            self.env[RET] = self.env[EXIT] = self.const(True)
        else:
            self.env[RAISED] = True

    # --- merging paths ----------------------------------------------------------------------------
    def _merge(self, node, blocks: list[Block], envs: list[dict], before: dict, pos) -> None:
        """Make the names the branches rebind outputs of ``node`` (types joined with unify).

        A name's value on a path that raised (any name) or returned (any name but the exit
        state) is dead: prim::Uninitialized stands in for it when its type does not fit."""
        raised = [env.get(RAISED, False) is True for env in envs]
        if all(raised):
            self.env[RAISED] = True
            for blk in blocks:
                blk.set_outputs([])
            return
        returned = [self._returned(env) for env in envs]
        # NOTE: in a prim::Loop body, a name a path never assigned before it left (break /
        # continue) is dead there: the rest of the iteration is guarded, and a name first
        # assigned in the body is not carried out of the loop. Not so in an unrolled loop,
        # whose copies share the names.
        in_loop_body = bool(self.state.unrolled) and not self.state.unrolled[-1]
        left = [in_loop_body and self.has_left(env) for env in envs]
        names = []
        for env in envs:
            for k, v in env.items():
                if k != RAISED and before.get(k) is not v and k not in names:
                    names.append(k)
        outs = [[] for _ in blocks]
        for name in names:
            vals = [env.get(name) for env in envs]
            if name in FLAGS:
                live = [not r for r in raised]
            elif name == RV:
                live = [not r and isinstance(v, Value) for v, r in zip(vals, raised)]
            else:
                live = [not r and not ret and not (gone and (v is None or
                                                            isinstance(v, Undefined)))
                        for r, ret, gone, v in zip(raised, returned, left, vals)]
            live_vals = [v for v, ok in zip(vals, live) if ok]
            if not live_vals:
                continue
            if name in FLAGS and all(v.is_constant for v in live_vals):
                consts = [bool(self.graph.constant_value(v)) for v in live_vals]
                if len(set(consts)) == 1:
                    self.env[name] = self.const(consts[0])
                    continue
                if len(consts) == 2:    # True on one branch, False on the other: the condition
                    cond = node.inputs[0]
                    self.env[name] = cond if consts[0] else \
                        self.scalar("prim::not", [cond], T.BOOL)
                    continue
            gone = [v for v in live_vals if isinstance(v, Undefined) and "(del)" in v.why]
            if gone:
                self.env[name] = gone[0]    # deleted on one path: say where
                continue
            earlier = [v for v in live_vals if isinstance(v, Undefined) and v is before.get(name)]
            if earlier:     # undefined on a path before the split: that is the reason
                self.env[name] = earlier[0]
                continue
            if any(v is None or isinstance(v, Undefined) for v in live_vals):
                missing = "the true branch" if vals[0] is None else "the false branch"
                self.env[name] = Undefined(name, pos, f"it is not assigned in {missing} of the "
                                                      f"if at line {self.src.file_line(pos)}")
                continue
            if not all(isinstance(v, Value) for v in live_vals):
                first = live_vals[0]
                if all(v == first for v in live_vals):
                    self.env[name] = first
                else:
                    self.env[name] = Undefined(name, pos, "it refers to different objects on "
                                                          "the two branches")
                continue
            try:
                t = self._join(name, live_vals, pos, before.get(name))
            except ScriptError as err:
                if name.startswith("$"):
                    raise
                # NOTE: as in TorchScript, a name whose branch types do not join is an error
                # only where it is used after the if
                self.env[name] = Undefined(name, pos, str(err), err)
                continue
            for i, (blk, v, ok) in enumerate(zip(blocks, vals, live)):
                with self.graph.insert_point(blk):
                    if not ok and (not isinstance(v, Value) or not T.is_subtype(v.type, t)):
                        v = self.graph.emit(Prim.Uninitialized, [], [t]).output
                    outs[i].append(self.exprs.coerce(v, t, pos, f"'{name}'"))
            out = node.add_output(t)
            if not name.startswith("$"):
                out.name = name
                self._record_stay_type(out, t, vals, live, envs)
            self.env[name] = out
        for blk, o in zip(blocks, outs):
            blk.set_outputs(o)

    def _record_stay_type(self, out: Value, t: T.Type, vals: list, live: list,
                          envs: list[dict]) -> None:
        """The type ``out`` has on the paths that did not leave, when narrower than ``t``."""
        stay = self.state.stay_types
        types = [stay.get(v, v.type) for v, ok, env in zip(vals, live, envs)
                 if ok and not self.has_left(env) and isinstance(v, Value)]
        if not types:
            return
        narrow = types[0]
        for u in types[1:]:
            narrow = T.unify(narrow, u)
            if narrow is None:
                return
        if narrow != t and T.is_subtype(narrow, t):
            stay[out] = narrow

    def _returned(self, env: dict) -> bool:
        v = env.get(RET)
        return isinstance(v, Value) and v.is_constant and self.graph.constant_value(v) is True

    def _join(self, name: str, vals: list[Value], pos, prior=None) -> T.Type:
        t = vals[0].type
        for v in vals[1:]:
            u = T.unify(t, v.type)
            if u is None and isinstance(prior, Value) and T.is_subtype(t, prior.type) and \
                    T.is_subtype(v.type, prior.type):
                u = prior.type   # refined differently on each branch (isinstance on a Union)
            if u is None and name == RV:
                raise self.src.error(
                    f"{self.state.fn.name}() returns {t} on one path and {v.type} on another "
                    f"(the paths split here)", pos,
                    "return the same type on every path (tuples of the same length; "
                    "annotate '-> Optional[...]' to allow None)")
            if u is None:
                raise self.src.error(
                    f"'{name.lstrip('$')}' has type {t} on one branch and {v.type} on the "
                    f"other", pos, "give it the same type on every path (annotate it, "
                    "e.g. 'x: Optional[int] = None')")
            t = u
        return t
