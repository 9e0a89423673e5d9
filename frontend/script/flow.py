"""Control-flow facts about statement lists, shared by the statement and loop compilers."""

from __future__ import annotations

from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.builtin_calls import _matches
from graphtorch.ir import types as T

INT_MAX = 2**63 - 1


def target_names(e: S.Expr | None) -> list[str]:
    """Names an assignment to ``e`` rebinds: ``t[i] = v`` rebinds ``t`` (tensor item assignment
    is functional in script)."""
    if isinstance(e, S.Name):
        return [e.id]
    if isinstance(e, (S.Tuple, S.List)):
        return [n for x in e.elts for n in target_names(x)]
    if isinstance(e, S.Subscript):
        return target_names(e.value)
    return []


def assigned_names(stmts: list[S.Stmt]) -> list[str]:
    """Names a statement list may rebind (in order of first appearance), including tensors
    updated by item assignment or an in-place method (``y.add_(1)`` rebinds ``y``)."""
    out: dict[str, None] = {}

    def target(e):
        for n in target_names(e):
            out[n] = None

    def visit(ss):
        for s in ss:
            if isinstance(s, S.Assign):
                for t in s.targets:
                    target(t)
                inplace_receiver(s.value)
            elif isinstance(s, (S.AnnAssign, S.AugAssign)):
                target(s.target)
            elif isinstance(s, S.If):
                visit(s.body)
                visit(s.orelse)
            elif isinstance(s, S.For):
                target(s.target)
                visit(s.body)
                visit(s.orelse)
            elif isinstance(s, S.While):
                visit(s.body)
                visit(s.orelse)
            elif isinstance(s, S.With):
                visit(s.body)
            elif isinstance(s, S.ExprStmt):
                inplace_receiver(s.value)
            elif isinstance(s, S.Delete):
                for t in s.targets:
                    target(t)

    def inplace_receiver(e):
        if isinstance(e, S.Call) and isinstance(e.func, S.Attribute) and \
                isinstance(e.func.value, S.Name) and e.func.attr.endswith("_") and \
                not e.func.attr.startswith("_"):
            out[e.func.value.id] = None

    visit(stmts)
    return list(out)


def contains(stmts: list[S.Stmt], kinds: tuple, into_loops: bool) -> S.Stmt | None:
    """The first statement of one of ``kinds`` in ``stmts`` (inside ifs, and inside loops when
    ``into_loops``; a loop's ``else`` clause is outside the loop: always searched), or None."""
    for s in stmts:
        if isinstance(s, kinds):
            return s
        inner = []
        if isinstance(s, S.If):
            inner = s.body + s.orelse
        elif isinstance(s, S.With):
            inner = s.body
        elif isinstance(s, (S.For, S.While)):
            inner = s.body + s.orelse if into_loops else s.orelse
        found = contains(inner, kinds, into_loops)
        if found is not None:
            return found
    return None


def narrow(vt: T.Type, types: list[T.Type]) -> tuple[T.Type | None, T.Type | None]:
    """The types a value of static type ``vt`` has where ``isinstance(v, types)`` is true and
    where it is false (None: no refinement there). Refines Optional and Union members; an
    ``Any`` becomes the tested types where the test holds."""
    if not types:
        return None, None
    if isinstance(vt, T.AnyType):
        if not all(_refinable(t) for t in types):
            return None, None
        numeric = (T.IntType, T.FloatType, T.BoolType, T.NumberType)
        if len(types) > 1 and all(isinstance(t, numeric) for t in types):
            return T.NUMBER, None    # isinstance(x, (int, float)): a Scalar, as annotated
        return T.union(*types), None
    inner = vt.elem if isinstance(vt, T.OptionalType) else vt
    members = list(inner.members) if isinstance(inner, T.UnionType) else [inner]
    if isinstance(vt, T.OptionalType):
        members.append(T.NONE)
    if len(members) < 2:
        return None, None
    yes, no = [], []
    for m in members:
        if any(_matches(m, t) for t in types):
            yes.append(m)
        else:
            no.append(m)
            yes += [t for t in types if _refinable(t) and T.is_subtype(t, m)]
    out = []
    for part in (yes, no):
        t = T.union(*part) if part else None
        out.append(None if t is None or t == vt or t == T.NONE else t)
    return out[0], out[1]


def _refinable(t: T.Type) -> bool:
    """A tested type precise enough to give a value (``list``/``dict``/``tuple`` are not)."""
    if isinstance(t, T.ListType):
        return t.elem != T.ANY
    if isinstance(t, T.DictType):
        return t.key != T.ANY
    if isinstance(t, T.TupleType):
        return bool(t.elems)
    return True
