"""Python builtins beyond the basic ones (mixed into CallCompiler): ``dict``, ``hash``, ``chr``,
``ord``, ``pow``, ``any``, ``all``, ``sorted``, ``reversed``, ``round``, ``divmod``,
``bin``/``hex``/``oct``, ``zip``/``enumerate`` as values, ``tuple``, ``sum`` with a start, and
the list/dict/str methods script compiles. Each computes what Python computes (the scalar kinds in
graphtorch.ops.scalar_ops); arguments script cannot type are refused with a hint."""

from __future__ import annotations

from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.annotations import type_from_python
from graphtorch.frontend.script.class_types import script_class_of
from graphtorch.frontend.script.state import Lowerer
from graphtorch.frontend.script.values import ModuleChoice, ModuleRef, PyObj
from graphtorch.ir import types as T
from graphtorch.ir.graph import Value
from graphtorch.ir.kinds import Prim
from graphtorch.ops.scalar_ops import STR_METHODS
from graphtorch.runtime.objects import IS_OBJECT

# builtin -> (fewest, most) positional arguments
ARITY = {"abs": (1, 1), "sum": (1, 2), "len": (1, 1), "hash": (1, 1), "chr": (1, 1),
         "ord": (1, 1), "pow": (2, 2), "any": (1, 1), "all": (1, 1), "sorted": (1, 1),
         "reversed": (1, 1), "round": (1, 2), "divmod": (2, 2), "bin": (1, 1), "hex": (1, 1),
         "oct": (1, 1), "tuple": (0, 1), "dict": (0, 1), "zip": (1, 64), "enumerate": (1, 2),
         "min": (1, 64), "max": (1, 64), "int": (0, 1), "float": (0, 1), "bool": (0, 1),
         "str": (0, 1), "list": (0, 1), "complex": (0, 2)}
_KEYWORDS = {"sorted": {"reverse"}, "enumerate": {"start"}, "sum": {"start"}}
_HANDLED = {"hash", "chr", "ord", "pow", "any", "all", "sorted", "reversed", "round", "divmod",
            "bin", "hex", "oct", "tuple", "dict", "zip", "enumerate", "complex"}
SUPPORTED_BUILTINS = set(ARITY) | _HANDLED | {"isinstance", "range", "print"}
_NUMBERS = (T.IntType, T.FloatType, T.BoolType)

_BUILTIN_HINTS = {
    "set": "use a List, or a Dict whose values you ignore",
    "map": "use a list comprehension",
    "filter": "use a list comprehension with an if clause",
}
# str method -> result type (None: the receiver's type, str)
_STR_RESULTS: dict[str, T.Type] = {
    **{m: T.STR for m in STR_METHODS},
    **{m: T.BOOL for m in STR_METHODS if m.startswith(("is", "startswith", "endswith"))},
    **{m: T.INT for m in ("find", "rfind", "count", "index", "rindex")},
    **{m: T.ListType(T.STR) for m in ("split", "rsplit", "splitlines")},
    **{m: T.TupleType((T.STR, T.STR, T.STR)) for m in ("partition", "rpartition")},
}


def _is_number(t: T.Type) -> bool:
    return isinstance(t, _NUMBERS)


def _number_join(a: T.Type, b: T.Type) -> T.Type:
    return T.FLOAT if T.FLOAT in (a, b) else T.INT


class BuiltinCalls(Lowerer):
    """Python builtins (``call``) and the methods of lists, dicts and str (``list_method``,
    ``dict_method``, ``str_method``); ``isinstance`` tests known while compiling."""

    def call(self, name: str, e: S.Call):
        """The value of the call ``e`` of Python builtin ``name``."""
        if name == "slice":
            return self._slice_constant(e)
        if name == "hasattr" and len(e.args) == 2 and not e.keywords:
            known = self.exprs.static_hasattr(e)
            if known is None:
                raise self.src.error("hasattr() in script takes a module (or an object known "
                                     "while compiling) and a constant attribute name", e.pos,
                                     "write hasattr(self, \"name\") or hasattr(self.sub, "
                                     "\"name\")")
            return self.const(known)
        if name not in SUPPORTED_BUILTINS:
            raise self.src.error(f"builtin '{name}' is not supported in script", e.pos,
                                 _BUILTIN_HINTS.get(name, "script's builtins are listed in "
                                                    "docs/jit_script.md (The language subset)"))
        self._check_builtin_arity(name, e)
        out = self._extra_builtin(name, e)
        if out is not None:
            return out
        if name == "len" and len(e.args) == 1:
            raw = self.exprs.lower(e.args[0])
            if isinstance(raw, ModuleRef) and raw.is_container or isinstance(raw, list):
                n = self.const(len(raw) if isinstance(raw, list) else
                               self.modules.container_length(raw))
                self.state.static_lens.add(n)
                return n
        if name == "list" and len(e.args) == 1 and not e.keywords and \
                is_range_call(e.args[0], self):
            return self.range_list(e.args[0])     # list(range(...))
        args, kwargs = self.calls.args_of(e) if name not in ("isinstance", "range") else ([], {})
        if name == "len":
            v = args[0]
            if is_container_len := (isinstance(v.type, T.TupleType)):
                del is_container_len
                return self.const(len(v.type.elems))
            return self.exprs.length(v, e.pos)
        if name == "print":
            self.graph.emit(Prim.Print, args, [])
            return self.const(None)
        if name in ("int", "float", "bool", "str"):
            t = {"int": T.INT, "float": T.FLOAT, "bool": T.BOOL, "str": T.STR}[name]
            if not args:
                return self.const({"int": 0, "float": 0.0, "bool": False, "str": ""}[name])
            return self.scalar(f"prim::{name}", [args[0]], t)
        if name == "abs":
            if args[0].type.__class__ is T.TensorType:
                return self.calls.call_op("abs", args, {}, e.pos)
            out = T.FLOAT if args[0].type == T.COMPLEX else args[0].type
            return self.scalar("prim::abs", args, out)
        if name in ("min", "max"):
            if any(isinstance(a.type, T.TensorType) for a in args):
                op = "minimum" if name == "min" else "maximum"
                return self.calls.call_op(op, args, {}, e.pos)
            if len(args) == 1 and isinstance(args[0].type, T.ListType):
                return self.scalar(f"prim::{name}", args, args[0].type.elem)
            out = args[0].type
            for a in args[1:]:
                out = T.unify(out, a.type) or out
            if out == T.NUMBER:
                out = T.FLOAT
            return self.scalar(f"prim::{name}", args, out)
        if name == "sum":
            if isinstance(args[0].type, T.TensorType):
                raise self.src.error("sum() of a Tensor is not supported in script", e.pos,
                                     "Python's sum(x) adds the rows: write x.sum(0)")
            lst = self._need_list("sum", args[0], e)
            elem = lst.type.elem
            start = args[1] if len(args) > 1 else kwargs.get("start")
            if start is None:
                return self.scalar("prim::sum", [lst], elem)
            out = T.unify(elem, start.type) or elem
            return self.scalar("prim::sum_start", [lst, start], out)
        if name == "list":
            return self._list_builtin(args, e)
        if name == "isinstance":
            return self.isinstance_call(e)
        if name == "range":
            raise self.src.error("range() is only supported as the iterable of a for loop, in "
                                 "zip()/enumerate() there, and in list()", e.pos,
                                 "write 'for i in range(...)', or build a list with "
                                 "list(range(...))")
        hint = _BUILTIN_HINTS.get(name)
        raise self.src.error(f"builtin '{name}' is not supported in script", e.pos, hint)

    def _slice_constant(self, e: S.Call) -> PyObj:
        """``a = slice(1, 5)`` outside brackets: a slice known while compiling (its bounds
        constants), which ``x[a]`` then uses as ``x[1:5]``."""
        if e.keywords or not 1 <= len(e.args) <= 3 or \
                any(isinstance(a, S.Starred) for a in e.args):
            raise self.src.error("slice() takes 1 to 3 positional arguments", e.pos,
                                 "write slice(stop), slice(start, stop) or "
                                 "slice(start, stop, step)")
        bounds = []
        for a in e.args:
            ok, value = self.calls._constant_of(self.exprs.lower_value(a))
            if not ok or not (value is None or (isinstance(value, int) and
                                                not isinstance(value, bool))):
                raise self.src.error("a slice() outside brackets needs integer bounds known "
                                     "while compiling", a.pos,
                                     "write the slice inside the brackets: x[a:b] or "
                                     "x[slice(a, b)]")
            bounds.append(value)
        return PyObj(slice(*bounds))

    def _check_builtin_arity(self, name: str, e: S.Call) -> None:
        """``abs()`` / ``sum(a, b, c)``: the count Python would reject, as a ScriptError."""
        if any(isinstance(a, S.Starred) for a in e.args):
            raise self.src.error(f"*args in a call of {name}() is not supported in script",
                                 e.pos, "pass the arguments one by one")
        lo, hi = ARITY.get(name, (0, 64))
        n = len(e.args)
        if not lo <= n <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.src.error(f"{name}() takes {want} positional argument(s), {n} given",
                                 e.pos, f"call it as in Python: {name}({', '.join('xyz'[:lo])})")
        allowed = _KEYWORDS.get(name, set())
        for k in e.keywords:
            if name in ARITY and name != "dict" and k.name not in allowed:
                raise self.src.error(f"{name}() got an unexpected keyword argument '{k.name}' "
                                     f"in script", e.pos,
                                     "sorted() takes only reverse=; key= is not supported"
                                     if name == "sorted" else None)

    def _extra_builtin(self, name: str, e: S.Call) -> Value | None:
        """The value of builtin ``name`` called at ``e``, or None when it is not one of these."""
        if name not in _HANDLED:
            return None
        if name == "dict":
            return self._dict_builtin(e)
        args, kwargs = self.calls.args_of(e)
        if name == "complex":
            for a in args:
                if not (_is_number(a.type) or a.type == T.COMPLEX or
                        isinstance(a.type, T.TensorType)):
                    raise self.src.error(f"complex() takes numbers or one-element tensors, not "
                                         f"{a.type}", e.pos)
            return self.scalar("prim::complex", args, T.COMPLEX)
        t = args[0].type if args else None
        if name in ("any", "all"):
            if isinstance(t, T.TensorType):
                return self.calls.call_op(name, args, {}, e.pos)
            self._need_list(name, args[0], e)
            return self.scalar(f"prim::{name}", args, T.BOOL)
        if name in ("sorted", "reversed"):
            lst = self._need_list(name, args[0], e)
            if name == "reversed":
                return self.scalar("prim::reversed", [lst], lst.type)
            rev = kwargs.get("reverse", self.const(False))
            if script_class_of(lst.type.elem) is not None:   # by the class's __lt__
                return self.classes.sort(lst, rev, e.pos, copy=True)
            return self.scalar("prim::sorted", [lst, rev], lst.type)
        if name in ("hash", "chr", "ord", "bin", "hex", "oct"):
            want = {"ord": T.STR, "hash": None}.get(name, T.INT)
            if want is not None and not T.is_subtype(t, want):
                raise self.src.error(f"{name}() takes {want}, not {t}", e.pos)
            if name == "hash" and not (_is_number(t) or t == T.STR):
                raise self.src.error(f"hash() of a {t} is not supported in script", e.pos,
                                     "hash an int, float, bool or str")
            out = T.INT if name in ("ord", "hash") else T.STR
            return self.scalar(f"prim::{name}", args, out)
        if name == "pow":
            return self.exprs.lower(S.BinOp(e.pos, "**", e.args[0], e.args[1]))
        if name == "round":
            if isinstance(t, T.TensorType):
                if len(args) == 2:
                    return self.calls.call_op("round", [args[0]], {"decimals": args[1]}, e.pos)
                return self.calls.call_op("round", args, {}, e.pos)
            if not _is_number(t):
                raise self.src.error(f"round() takes a number or a Tensor, not {t}", e.pos)
            out = T.INT if len(args) == 1 or t == T.INT else T.FLOAT
            return self.scalar("prim::round", args, out)
        if name == "divmod":
            a, b = args
            if not (_is_number(a.type) and _is_number(b.type)):
                raise self.src.error(f"divmod() takes two numbers, not {a.type} and {b.type}",
                                     e.pos, "for tensors write (a // b, a % b)")
            r = _number_join(a.type, b.type)
            return self.scalar("prim::divmod", args, T.TupleType((r, r)))
        if name == "tuple":
            if not args:
                return self.graph.emit(Prim.TupleConstruct, [], [T.TupleType(())]).output
            if isinstance(t, T.TupleType):
                return args[0]
            raise self.src.error(f"tuple() of a {t} is not supported in script: its length is "
                                 f"not known while compiling", e.pos,
                                 "write the tuple out: (xs[0], xs[1]), or keep the list")
        if name == "zip":
            lists = [self._need_list("zip", a, e) for a in args]
            elem = T.TupleType(tuple(v.type.elem for v in lists))
            return self.scalar("prim::zip", lists, T.ListType(elem))
        if name == "enumerate":
            lst = self._need_list("enumerate", args[0], e)
            start = args[1] if len(args) > 1 else kwargs.get("start", self.const(0))
            elem = T.TupleType((T.INT, lst.type.elem))
            return self.scalar("prim::enumerate", [lst, start], T.ListType(elem))
        return None

    def _need_list(self, name: str, v: Value, e: S.Call) -> Value:
        """``v`` as a list: a list, a str (its characters), a dict (its keys) or a tuple whose
        items have one type."""
        t = v.type
        if isinstance(t, T.ListType):
            return v
        if t == T.STR:
            return self.scalar("prim::list_copy", [v], T.ListType(T.STR))
        if isinstance(t, T.DictType):
            return self.scalar("prim::dict_keys", [v], T.ListType(t.key))
        if isinstance(t, T.TupleType):
            elem = t.elems[0] if t.elems else T.INT
            for x in t.elems[1:]:
                elem = T.unify(elem, x)
                if elem is None:
                    break
            if elem is not None and elem != T.ANY:
                return self.graph.emit(Prim.ListConstruct, self._tuple_items(v),
                                       [T.ListType(elem)]).output
        raise self.src.error(f"{name}() of a {t} is not supported in script", e.pos,
                             "pass a list (or a str, dict, or a tuple of one item type)")

    def _tuple_items(self, v: Value) -> list[Value]:
        return [self.graph.emit(Prim.TupleIndex, [v, self.const(i)], [et]).output
                for i, et in enumerate(v.type.elems)]

    def range_list(self, e: S.Call) -> Value:
        """The ``int[]`` of ``range(...)`` (as the comprehension ``[i for i in range(...)]``)."""
        var = S.Name(e.pos, "range$item")
        return self.exprs.lower_value(S.ListComp(e.pos, var, [S.Comprehension(e.pos, var, e, [])]))

    def _list_builtin(self, args: list[Value], e: S.Call) -> Value:
        """``list(x)``: a new list (a copy; the characters of a str; the keys of a dict)."""
        if not args:
            return self.graph.emit(Prim.ListConstruct, [], [T.ListType(T.ANY)]).output
        v = args[0]
        if isinstance(v.type, T.ListType):
            return self.scalar("prim::list_copy", [v], v.type)
        if isinstance(v.type, T.TensorType):
            raise self.src.error("list() of a Tensor is not supported in script", e.pos,
                                 "use x.unbind(0) (a list of the rows) or x.tolist()")
        return self._need_list("list", v, e)

    def _dict_builtin(self, e: S.Call) -> Value:
        """``dict()``, ``dict(k=v, ...)``, ``dict(d)``, ``dict(pairs)``."""
        args, kwargs = self.calls.args_of(e)
        if args:
            v = args[0]
            if isinstance(v.type, T.DictType):
                base = self.scalar("prim::dict_copy", [v], v.type)
            elif isinstance(v.type, T.ListType) and isinstance(v.type.elem, T.TupleType) and \
                    len(v.type.elem.elems) == 2:
                kt, vt = v.type.elem.elems
                base = self.scalar("prim::to_dict", [v], T.DictType(kt, vt))
            else:
                raise self.src.error(f"dict() of a {v.type} is not supported in script", e.pos,
                                     "pass a dict, or a list of (key, value) tuples")
            if kwargs:
                if base.type.key != T.STR:
                    raise self.src.error("dict(d, name=value) needs str keys", e.pos)
                for k, val in kwargs.items():
                    val = self.exprs.coerce(val, base.type.value, e.pos, "dict value")
                    self.scalar("prim::dict_set", [base, self.const(k), val], None)
            return base
        if not kwargs:
            return self.graph.emit(Prim.DictConstruct, [], [T.DictType(T.STR, T.TENSOR)]).output
        vt = None
        for val in kwargs.values():
            vt = val.type if vt is None else T.unify(vt, val.type)
            if vt is None:
                raise self.src.error("dict() values have types that do not unify", e.pos,
                                     "make every value the same type")
        ins: list[Value] = []
        for k, val in kwargs.items():
            ins += [self.const(k), self.exprs.coerce(val, vt, e.pos, "dict value")]
        return self.graph.emit(Prim.DictConstruct, ins, [T.DictType(T.STR, vt)]).output

    # --- methods of lists, dicts and strings -----------------------------------------------------
    def list_method(self, v: Value, name: str, args: list[Value], kwargs: dict,
                    e: S.Call) -> Value | None:
        t = v.type
        if name == "sort":
            if args or set(kwargs) - {"reverse"}:
                raise self.src.error("list.sort() takes only reverse= in script", e.pos,
                                     "key= is not supported: sort a list of keys instead")
            rev = kwargs.get("reverse", self.const(False))
            if script_class_of(t.elem) is not None:   # by the class's __lt__
                self.classes.sort(v, rev, e.pos, copy=False)
            else:
                self.scalar("prim::list_sort", [v, rev], None)
            return self.const(None)
        if name == "remove":
            item = self.exprs.coerce(args[0], t.elem, e.pos, "list.remove() argument")
            self.scalar("prim::list_remove", [v, item], None)
            return self.const(None)
        return None

    def dict_method(self, v: Value, name: str, args: list[Value], e: S.Call) -> Value | None:
        t = v.type
        if name == "clear":
            self.scalar("prim::dict_clear", [v], None)
            return self.const(None)
        if name == "copy":
            return self.scalar("prim::dict_copy", [v], t)
        if name == "popitem":
            return self.scalar("prim::dict_popitem", [v], T.TupleType((t.key, t.value)))
        if name == "setdefault":
            if len(args) != 2:
                raise self.src.error("dict.setdefault() takes a key and a default in script",
                                     e.pos, "write d.setdefault(key, default)")
            val = self.exprs.coerce(args[1], t.value, e.pos, "the default")
            return self.scalar("prim::dict_setdefault", [v, args[0], val], t.value)
        if name == "pop" and len(args) == 2:
            val = self.exprs.coerce(args[1], t.value, e.pos, "the default")
            return self.scalar("prim::dict_pop_default", [v, args[0], val], t.value)
        return None

    def str_method(self, v: Value, name: str, args: list[Value], e: S.Call) -> Value | None:
        out = _STR_RESULTS.get(name)
        if out is None:
            return None
        return self.scalar("prim::str_method", [v, self.const(name)] + args, out)

    # --- isinstance -------------------------------------------------------------------------------
    def isinstance_types(self, e: S.Call) -> list[T.Type | None]:
        """The IR types ``isinstance(v, cls)`` tests against (None: a Python class script values
        never are); ``graphtorch.jit.isinstance`` takes typing forms such as ``List[int]``."""
        if len(e.args) != 2 or e.keywords:
            raise self.src.error("isinstance() takes exactly 2 arguments", e.pos)
        parts, todo = [], [e.args[1]]
        while todo:     # nested tuples of classes count as flat ones, as in Python
            p = todo.pop(0)
            if isinstance(p, S.Tuple):
                todo[:0] = p.elts
            else:
                parts.append(p)
        classes = []
        for p in parts:
            if isinstance(p, (S.Subscript, S.Constant)):   # List[int], None
                classes.append(self.state.ann_type(p))
                continue
            cls = self.exprs.lower(p)
            if not isinstance(cls, PyObj):
                raise self.src.error("isinstance() needs a type as its second argument", p.pos,
                                     "write a class, a tuple of classes or a typing form")
            classes += list(cls.obj) if isinstance(cls.obj, tuple) else [cls.obj]
        out = []
        for c in classes:
            if isinstance(c, T.Type):
                out.append(c)
                continue
            t = type_from_python(c)
            if t is None and c in (list, dict, tuple):
                t = {list: T.ListType(T.ANY), dict: T.DictType(T.ANY, T.ANY),
                     tuple: T.TupleType(())}[c]
            out.append(t)
        return out

    def _module_isinstance(self, e: S.Call) -> bool | None:
        """``isinstance(self.sub, nn.Linear)`` of a module: Python's answer for the module
        (the one a compiled module was made from), known while compiling; None: not a module."""
        if len(e.args) != 2 or e.keywords:
            return None
        raw = self.exprs.lower(e.args[0])
        if isinstance(raw, ModuleChoice):
            raise self.src.error("isinstance() of a module chosen at run time is not supported "
                                 "in script", e.pos, "test a module picked with a constant "
                                 "index, or iterate over the container")
        if not isinstance(raw, ModuleRef):
            return None
        module = raw.module.__dict__.get("_gt_original", raw.module)
        classes = []
        todo = [e.args[1]]
        while todo:
            p = todo.pop(0)
            if isinstance(p, S.Tuple):
                todo[:0] = p.elts
                continue
            cls = self.exprs.lower(p)
            if not isinstance(cls, PyObj) or not isinstance(cls.obj, type):
                raise self.src.error("isinstance() of a module needs a class or a tuple of "
                                     "classes", p.pos)
            classes.append(cls.obj)
        return isinstance(module, tuple(classes))

    def static_isinstance(self, e: S.Call) -> bool | None:
        """isinstance(v, cls) from v's static type; None when only the run time knows (v is
        Optional[T], Any, or a Scalar such as ``x.item()``)."""
        known = self._module_isinstance(e)
        if known is not None:
            return known
        v = self.exprs.lower_value(e.args[0])
        types = self.isinstance_types(e)
        for t in types:
            if t is not None and _matches(v.type, t):
                return True
        if isinstance(v.type, (T.AnyType, T.NumberType)):
            return None
        inner = v.type.elem if isinstance(v.type, T.OptionalType) else v.type
        if isinstance(inner, T.UnionType) and any(
                t is not None and (_matches(m, t) or T.is_subtype(t, m))
                for m in inner.members for t in types):
            return None    # some member passes: only the run time knows
        if isinstance(v.type, T.OptionalType):
            for t in types:
                if t is not None and (_matches(v.type.elem, t) or t == T.NONE):
                    return None
        return False

    def isinstance_call(self, e: S.Call) -> Value:
        known = self.static_isinstance(e)
        if known is not None:
            return self.const(known)
        v = self.exprs.lower_value(e.args[0])
        types = [t for t in self.isinstance_types(e) if t is not None]
        if isinstance(v.type, T.OptionalType) and T.NONE not in types and \
                any(_matches(v.type.elem, t) for t in types):
            # NOTE: an Optional[T] tested against T: a None test (which refines it)
            return self.scalar("prim::is_not", [v, self.const(None)], T.BOOL)
        classes = tuple(t for t in types if script_class_of(t) is not None)
        types = [t for t in types if script_class_of(t) is None]
        nested = next((t for t in types if _holds_class(t)), None)
        if nested is not None:
            raise self.src.error(f"isinstance() against {nested}, a container of script-class "
                                 f"objects, is not supported in script", e.pos,
                                 "test the items one by one: isinstance(item, Foo)")
        out = None
        if classes:   # objects of script classes: their class, by identity (objects.py)
            out = self.graph.emit(IS_OBJECT, [v], [T.BOOL], {"types": classes}).output
        if types:
            spec = "|".join(sorted({type_spec(t) for t in types}))
            test = self.scalar("prim::isinstance_of", [v, self.const(spec)], T.BOOL)
            out = test if out is None else self.exprs.binop("|", out, test, e.pos)
        return out


def _holds_class(t: T.Type) -> bool:
    """A container type with a script class somewhere inside."""
    inner = [x for x in (getattr(t, "elem", None), getattr(t, "key", None),
                         getattr(t, "value", None)) if isinstance(x, T.Type)]
    inner += list(getattr(t, "elems", ()) or ()) + list(getattr(t, "members", ()) or ())
    return any(script_class_of(x) is not None or _holds_class(x) for x in inner)


def _matches(a: T.Type, b: T.Type) -> bool:
    """Every value of static type ``a`` passes isinstance(., b) (bool is an int in Python)."""
    if T.is_subtype(a, b):
        return True
    if a == T.BOOL and b == T.INT:
        return True
    if isinstance(b, T.ListType) and b.elem == T.ANY:
        return isinstance(a, T.ListType)
    if isinstance(b, T.DictType) and b.key == T.ANY:
        return isinstance(a, T.DictType)
    if isinstance(b, T.TupleType) and not b.elems:
        return isinstance(a, T.TupleType)
    return False


def type_spec(t: T.Type) -> str:
    """The run-time test prim::isinstance_of / prim::checked_cast make for ``t``."""
    if isinstance(t, T.TensorType):
        return "Tensor"
    if isinstance(t, T.ListType):
        return "list" if t.elem == T.ANY else f"list[{type_spec(t.elem)}]"
    if isinstance(t, T.DictType):
        if t.key == T.ANY:
            return "dict"
        return f"dict[{type_spec(t.key)},{type_spec(t.value)}]"
    if isinstance(t, T.TupleType):
        return f"tuple[{','.join(type_spec(x) for x in t.elems)}]" if t.elems else "tuple"
    if isinstance(t, T.OptionalType):
        return f"{type_spec(t.elem)}|NoneType"
    if isinstance(t, T.UnionType):
        return "|".join(type_spec(m) for m in t.members)
    return str(t)


def is_range_call(e: S.Expr, lowerer: Lowerer) -> bool:
    """``e`` calls Python's ``range`` (not a local or global rebinding the name)."""
    return isinstance(e, S.Call) and isinstance(e.func, S.Name) and e.func.id == "range" and \
        e.func.id not in lowerer.env and \
        lowerer.state.lookup_global_or_none("range") is range
