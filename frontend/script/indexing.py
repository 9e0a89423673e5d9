"""Tensor indexing: ``t[key]`` and ``t[key] = v`` -> the registry's structured ``index`` op and
``prim::Inplace[op="index_put"]`` (a write into t, as eager), with the key encoded exactly as
eager ``Tensor.__getitem__`` encodes it (graphtorch.ops.indexing.encode_key), so scripted and
traced graphs agree.

A key whose parts are all known while compiling is one constant (what the tracer records);
integers or slice bounds computed at run time make it a prim::TupleConstruct of entries.
The IndexLowerer collaborator (see state.py) also compiles subscripts of lists, tuples, dicts
and str.
"""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.class_types import script_class_of
from graphtorch.frontend.script.expressions import describe, is_tensor
from graphtorch.frontend.script.state import Lowerer
from graphtorch.frontend.script.tensor_literals import literal_value
from graphtorch.frontend.script.values import ModuleRef, PyObj
from graphtorch.ir import types as T
from graphtorch.ir.graph import Value
from graphtorch.ir.kinds import Prim
from graphtorch.ops import creation

_INT_LIKE = (T.IntType, T.BoolType)


def _constant_dict_type(obj) -> T.Type | None:
    """Dict(K, V) of a non-empty dict whose keys are all str (or all int) and whose values all
    have one type among int, float, bool, str; else None."""
    if not isinstance(obj, dict) or not obj:
        return None
    kinds = {type(k) for k in obj}, {type(v) for v in obj.values()}
    if len(kinds[0]) != 1 or len(kinds[1]) != 1:
        return None
    scalar = {int: T.INT, float: T.FLOAT, bool: T.BOOL, str: T.STR}
    k, v = scalar.get(next(iter(kinds[0]))), scalar.get(next(iter(kinds[1])))
    if k not in (T.STR, T.INT) or v is None:
        return None
    return T.DictType(k, v)


def _int_list(data) -> bool:
    """Nested lists of ints (or of bools): data eager turns into an index tensor."""
    if not isinstance(data, list):
        return False
    flat, todo = [], list(data)
    while todo:
        x = todo.pop()
        if isinstance(x, list):
            todo.extend(x)
        else:
            flat.append(x)
    return all(isinstance(x, int) for x in flat) and (
        all(isinstance(x, bool) for x in flat) or not any(isinstance(x, bool) for x in flat))


class IndexLowerer(Lowerer):
    # --- subscripts (x[i], x[i] = v) --------------------------------------------------------------
    def expr_Subscript(self, e, expected):
        base = self.exprs.lower(e.value)
        if isinstance(base, ModuleRef) and base.is_container:
            if isinstance(e.index, S.Slice):   # self.layers[1:]: the items, known statically
                return self.modules.module_slice(base, e.index, e.pos)
            return self.modules.module_item(base, e.index, e.pos)
        if isinstance(base, list):   # compile-time items: self.layers[1:3][0], item[1]
            return self.modules.static_subscript(base, e.index, e.pos)
        if isinstance(base, PyObj) and isinstance(e.index, S.Constant):
            try:
                return PyObj(base.obj[e.index.value])
            except (KeyError, IndexError, TypeError):
                raise self.src.error(f"cannot index {describe(base.obj)} with "
                                     f"{e.index.value!r}", e.pos) from None
        if isinstance(base, PyObj) and (t := _constant_dict_type(base.obj)) is not None:
            # NOTE: a global dict of constants read with a run-time key (names[dt.name]): a
            # lookup in a copy of it, which nothing else can reach (so none can change it)
            k = self.exprs.lower_value(e.index)
            return self.scalar("prim::dict_get", [self.const(dict(base.obj), t), k], t.value)
        v = self.exprs.as_value(base, e.value.pos)
        if script_class_of(v.type) is not None:   # obj[k]: its __getitem__ (classes.py)
            out = self.classes.dunder(v, "__getitem__", [self.exprs.lower_value(e.index)],
                                      e.pos)
            if out is None:
                raise self.src.error(f"a value of type {v.type} cannot be indexed (its class "
                                     f"defines no __getitem__)", e.pos)
            return out
        e = S.Subscript(e.pos, e.value, self.slice_calls(e.index))
        if isinstance(v.type, T.TupleType):
            if not (isinstance(e.index, S.Constant) and isinstance(e.index.value, int)) and not (
                    isinstance(e.index, S.UnaryOp) and isinstance(e.index.operand, S.Constant)):
                return self.tuple_item(v, e)
            idx = self.graph.constant_value(self.exprs.lower_value(e.index))
            n = len(v.type.elems)
            if not -n <= idx < n:
                raise self.src.error(f"tuple index {idx} out of range for a tuple of {n}", e.pos)
            return self.graph.emit(Prim.TupleIndex, [v, self.const(idx % n)],
                                   [v.type.elems[idx]]).output
        if isinstance(v.type, T.ListType):
            if isinstance(e.index, S.Slice):
                lo, hi, st = (self.exprs.lower_value(x) if x is not None else self.const(None)
                              for x in (e.index.lower, e.index.upper, e.index.step))
                return self.scalar("prim::list_slice", [v, lo, hi, st], v.type)
            i = self.exprs.lower_value(e.index)
            return self.scalar("prim::list_get", [v, i], v.type.elem)
        if isinstance(v.type, T.DictType):
            k = self.exprs.lower_value(e.index)
            return self.scalar("prim::dict_get", [v, k], v.type.value)
        if is_tensor(v.type):
            return self.tensor_index(v, e.index, e.pos)
        if v.type == T.STR:
            return self.str_item(v, e)
        raise self.src.error(f"a value of type {v.type} cannot be indexed", e.pos)

    def assign_subscript(self, target: S.Subscript, value: Value) -> None:
        v = self.exprs.lower_value(target.value)
        if script_class_of(v.type) is not None and self.classes.dunder(
                v, "__setitem__", [self.exprs.lower_value(target.index), value],
                target.pos) is not None:
            return
        if isinstance(v.type, T.ListType):
            value = self.exprs.coerce(value, v.type.elem, target.pos, "the list element")
            i = self.exprs.lower_value(target.index)
            self.scalar("prim::list_set", [v, i, value], None)
        elif isinstance(v.type, T.DictType):
            k = self.exprs.lower_value(target.index)
            self.scalar("prim::dict_set", [v, k, value], None)
        elif is_tensor(v.type):
            new = self.assign_tensor_item(target, v, value)
            if isinstance(target.value, S.Name):   # later reads of the name follow the write
                self.stmts.assign(target.value, new, target.pos)
        else:
            raise self.src.error(f"cannot assign to an element of a value of type {v.type}",
                                 target.pos)

    # --- tensor keys ------------------------------------------------------------------------------
    def tensor_key(self, index: S.Expr, pos) -> tuple[Value, Value]:
        """(key, indices) inputs of op::index / op::index_put for the subscript ``index``."""
        parts = index.elts if isinstance(index, S.Tuple) else [index]
        entries: list[list] = []     # each entry: tag and parts (Python constants or Values)
        tensors: list[Value] = []
        for p in parts:
            if isinstance(p, S.Constant) and p.value is None:
                entries.append(["none"])
            elif isinstance(p, S.Constant) and p.value is Ellipsis or \
                    isinstance(p, S.Name) and p.id == "Ellipsis" and p.id not in self.env:
                entries.append(["ellipsis"])
            elif isinstance(p, S.List) and _int_list(literal_value(p)):
                # x[:, [0, 2]]: a literal list is an index tensor, as eager makes it
                entries.append(["tensor", len(tensors)])
                tensors.append(self.const(creation.tensor(literal_value(p))))
            elif isinstance(p, S.Slice):
                bounds = []
                for b in (p.lower, p.upper, p.step):
                    v = None if b is None else self.exprs.lower_value(b)
                    if v is not None and not isinstance(v.type, (*_INT_LIKE, T.NoneType,
                                                                 T.OptionalType)):
                        raise self.src.error(f"slice indices must be integers or None, not "
                                             f"{v.type}", b.pos)
                    bounds.append(self._static(v))
                entries.append(["slice", *bounds])
            else:
                v = self.exprs.lower_value(p)
                if isinstance(v.type, T.TensorType):
                    entries.append(["tensor", len(tensors)])
                    tensors.append(v)
                elif v.type == T.BOOL:   # eager makes tensor(b): a 0-d bool mask
                    shape = self.const([], T.ListType(T.INT))
                    entries.append(["tensor", len(tensors)])
                    tensors.append(self.calls.call_op("full", [shape, v],
                                                      {"dtype": self._const_dtype("bool")}, p.pos))
                elif v.type == T.INT:
                    entries.append(["int", self._static(v)])
                elif isinstance(v.type, T.ListType) and v.type.elem in (T.INT, T.BOOL):
                    # x[lst, :] with a list known at run time: its index tensor, as eager
                    entries.append(["tensor", len(tensors)])
                    tensors.append(self.scalar("prim::index_tensor",
                                               [v, self.const(v.type.elem == T.BOOL)], T.TENSOR))
                else:
                    raise self.src.error(
                        f"only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                        f"Variables are valid indices (got {v.type})", p.pos,
                        "index with ints, slices, tensors, or a list of ints or bools "
                        "(x[:, [0, 2]], x[idx] with idx: List[int])")
        return self._key_value(entries), self._indices_value(tensors)

    def _static(self, v: Value | None):
        if v is None:
            return None
        if v.is_constant:
            c = self.graph.constant_value(v)
            return int(c) if isinstance(c, bool) else c
        return v

    def _key_value(self, entries: list[list]) -> Value:
        if all(not isinstance(x, Value) for e in entries for x in e):
            return self.const(tuple(tuple(e) for e in entries))
        items = []
        for e in entries:
            vals = [x if isinstance(x, Value) else self.const(x) for x in e]
            items.append(self.graph.emit(Prim.TupleConstruct, vals,
                                         [T.TupleType(tuple(v.type for v in vals))]).output)
        return self.graph.emit(Prim.TupleConstruct, items,
                               [T.TupleType(tuple(v.type for v in items))]).output

    def _indices_value(self, tensors: list[Value]) -> Value:
        if not tensors:
            return self.const([], T.ListType(T.ANY))
        return self.graph.emit(Prim.ListConstruct, tensors, [T.ListType(T.TENSOR)]).output

    def tensor_index(self, v: Value, index: S.Expr, pos) -> Value:
        key, indices = self.tensor_key(index, pos)
        return self.calls.call_op("index", [v, key, indices], {}, pos)

    def tensor_select(self, v: Value, dim: int, i: Value, pos) -> Value:
        """``v`` indexed by the integer ``i`` at ``dim`` (iteration over a tensor)."""
        entries = [["slice", None, None, None]] * dim + [["int", self._static(i)]]
        return self.calls.call_op("index", [v, self._key_value(entries), self._indices_value([])],
                                  {}, pos)

    def assign_tensor_item(self, target: S.Subscript, base: Value, value: Value) -> Value:
        """``t[key] = value``: written into t in place (eager's ``__setitem__``)."""
        key, indices = self.tensor_key(self.slice_calls(target.index), target.pos)
        return self.inplace.put_item(base, key, indices, value, target.pos)

    def slice_calls(self, index: S.Expr) -> S.Expr:
        """``x[slice(a, b, c)]`` is ``x[a:b:c]`` (also inside a tuple key)."""
        if isinstance(index, S.Tuple):
            return S.Tuple(index.pos, [self.slice_calls(x) for x in index.elts])
        if isinstance(index, S.Name) and index.id in self.env and \
                isinstance(self.env[index.id], PyObj) and \
                isinstance(self.env[index.id].obj, slice):   # a = slice(1); x[a]
            sl = self.env[index.id].obj
            return S.Slice(index.pos, *(None if b is None else S.Constant(index.pos, b)
                                        for b in (sl.start, sl.stop, sl.step)))
        if not (isinstance(index, S.Call) and isinstance(index.func, S.Name)
                and index.func.id == "slice" and index.func.id not in self.env):
            return index
        try:
            if self.state.lookup_global("slice") is not slice:
                return index
        except KeyError:
            return index
        args = index.args
        if index.keywords or not 1 <= len(args) <= 3 or \
                any(isinstance(a, S.Starred) for a in args):
            raise self.src.error("slice() takes 1 to 3 positional arguments", index.pos,
                                 "write slice(stop), slice(start, stop) or "
                                 "slice(start, stop, step)")
        lo, hi, st = [None, args[0], None] if len(args) == 1 else (list(args) + [None])[:3]
        return S.Slice(index.pos, lo, hi, st)

    def tuple_item(self, v: Value, e: S.Subscript) -> Value:
        """``t[i]`` with ``i`` known only at run time: the items must share one type."""
        elems = v.type.elems
        elem = elems[0] if elems else None
        for x in elems[1:]:
            elem = T.unify(elem, x)
            if elem is None:
                break
        if isinstance(e.index, S.Slice):
            return self._tuple_slice(v, e.index, e.pos)
        if elem is None:
            raise self.src.error("a tuple whose items have different types can only be indexed "
                                 "by an integer literal", e.pos,
                                 "use a list for indexing with a variable")
        i = self.exprs.lower_value(e.index)
        if i.type not in (T.INT, T.BOOL):
            raise self.src.error(f"tuple indices must be integers, not {i.type}", e.index.pos)
        return self.scalar("prim::tuple_item", [v, i], elem)

    def _tuple_slice(self, v: Value, sl: S.Slice, pos) -> Value:
        """``t[a:b:c]`` with bounds known while compiling: a new tuple of those items."""
        bounds = []
        for b in (sl.lower, sl.upper, sl.step):
            c = None if b is None else self.exprs.lower_value(b)
            if c is not None and not (c.is_constant and isinstance(
                    self.graph.constant_value(c), (int, type(None)))):
                raise self.src.error("a tuple slice needs bounds known while compiling", b.pos,
                                     "use integer literals, or a list for run-time slicing")
            bounds.append(None if c is None else self.graph.constant_value(c))
        picked = range(len(v.type.elems))[slice(*bounds)]
        items = [self.graph.emit(Prim.TupleIndex, [v, self.const(i)], [v.type.elems[i]]).output
                 for i in picked]
        return self.graph.emit(Prim.TupleConstruct, items,
                               [T.TupleType(tuple(x.type for x in items))]).output

    def str_item(self, v: Value, e: S.Subscript) -> Value:
        """``s[i]`` (a one-character string) and ``s[a:b:c]``."""
        if isinstance(e.index, S.Slice):
            lo, hi, st = (self.exprs.lower_value(x) if x is not None else self.const(None)
                          for x in (e.index.lower, e.index.upper, e.index.step))
            return self.scalar("prim::str_slice", [v, lo, hi, st], T.STR)
        i = self.exprs.lower_value(e.index)
        if i.type not in (T.INT, T.BOOL):
            raise self.src.error(f"string indices must be integers, not {i.type}", e.index.pos)
        return self.scalar("prim::str_get", [v, i], T.STR)

    def _const_dtype(self, name: str) -> Value:
        return self.const(getattr(dtypes, name if name != "bool" else "bool_"))

    def transpose_all(self, v: Value, pos) -> Value:
        """``t.T``: every dim reversed, as eager ``Tensor.T`` (a permute)."""
        t = v.type
        if isinstance(t, T.TensorType) and t.shape is not None:
            dims = list(range(len(t.shape)))[::-1]
            return self.calls.call_op("permute", [v, self.const(dims, T.ListType(T.INT))], {}, pos)
        n = self.scalar("prim::dim", [v], T.INT)
        dims = self.graph.emit(Prim.ListConstruct, [], [T.ListType(T.INT)]).output
        loop = self.graph.emit(Prim.Loop, [n, self.const(True)], [])
        body = loop.add_block()
        i = body.add_input("i", T.INT)
        with self.graph.insert_point(body):
            last = self.scalar("prim::sub", [n, self.const(1)], T.INT)
            self.scalar("prim::list_append", [dims, self.scalar("prim::sub", [last, i], T.INT)],
                        None)
            body.set_outputs([self.const(True)])
        return self.calls.call_op("permute", [v, dims], {}, pos)
