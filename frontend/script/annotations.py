"""Type annotations (PEP 3107/526 and ``typing``) -> IR types."""

from __future__ import annotations

import ast
import typing

from graphtorch import device as Device
from graphtorch import dtype as DType
from graphtorch._jit_internal import BROADCASTING_LISTS, broadcast_spec
from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.class_types import class_type, is_script_class
from graphtorch.frontend.script.enums import enum_type, is_enum_class
from graphtorch.frontend.script.interfaces import interface_type, is_interface
from graphtorch.frontend.script.named_tuples import named_tuple_fields, named_tuple_type
from graphtorch.ir import types as T
from graphtorch.tensor import Tensor

_BUILTIN_TYPES = {int: T.INT, float: T.FLOAT, bool: T.BOOL, str: T.STR, type(None): T.NONE,
                  complex: T.COMPLEX}


def type_from_python(obj, what: str = "annotation") -> T.Type | None:
    """The IR type of a Python type object (``int``, ``List[int]``, ``Optional[Tensor]`` ...)."""

    if obj is None:
        return T.NONE
    if isinstance(obj, T.Type):   # an IR type already (overloads.py: a declaration's types)
        return obj
    if obj in _BUILTIN_TYPES:
        return _BUILTIN_TYPES[obj]
    if obj is Tensor or getattr(obj, "__name__", "") == "Parameter":
        return T.TENSOR
    if obj is Device:
        return T.DEVICE
    if obj is DType:
        return T.DTYPE
    if obj is typing.Any:
        return T.ANY
    if is_enum_class(obj):
        return enum_type(obj)
    if is_interface(obj):
        return interface_type(obj)
    if named_tuple_fields(obj) is not None:   # a typing.NamedTuple class: its fields' tuple
        return named_tuple_type(obj, type_from_python)
    if is_script_class(obj):    # a user class: its objects (classes.py)
        return class_type(obj)
    if (spec := broadcast_spec(obj)) is not None:
        # BroadcastingListN[E]: an E, a list of E or a tuple of N; the function's entry makes
        # it a List[E] (prim::broadcast_list, compiler.py)
        elem = type_from_python(spec[1])
        return None if elem is None else \
            T.union(elem, T.ListType(elem), T.TupleType((elem,) * spec[0]))
    origin = typing.get_origin(obj)
    args = typing.get_args(obj)
    if origin in (list, typing.List) and len(args) == 1:  # noqa: UP006
        inner = type_from_python(args[0])
        return None if inner is None else T.ListType(inner)
    if origin in (tuple, typing.Tuple):  # noqa: UP006
        inner = [type_from_python(a) for a in args if a is not Ellipsis]
        return None if any(i is None for i in inner) else T.TupleType(tuple(inner))
    if origin in (dict, typing.Dict) and len(args) == 2:  # noqa: UP006
        k, v = type_from_python(args[0]), type_from_python(args[1])
        return None if k is None or v is None else T.DictType(k, v)
    if origin is typing.Union or type(obj).__name__ == "UnionType":
        members = [type_from_python(a) for a in args]
        if any(m is None for m in members):
            return None
        numeric = (T.IntType, T.FloatType, T.BoolType, T.NumberType)
        if len(members) > 1 and all(isinstance(m, numeric) for m in members):
            return T.NUMBER    # Union[int, float]: the schema's Scalar, as ops take it
        return T.union(*members)
    if getattr(origin, "__qualname__", "") == "Future" and \
            getattr(origin, "__module__", "").endswith("runtime.futures"):
        return T.ANY    # jit.Future[T]: forks are Python values in script (forks.py)
    if origin is typing.Final or str(origin) == "typing.Final":
        return type_from_python(args[0]) if args else None
    return None


def broadcast_size(obj) -> int | None:
    """N of ``BroadcastingListN[E]`` or ``Optional[BroadcastingListN[E]]``, else None."""
    spec = broadcast_spec(obj)
    if spec is None and typing.get_origin(obj) is typing.Union:
        rest = [a for a in typing.get_args(obj) if a is not type(None)]
        spec = broadcast_spec(rest[0]) if len(rest) == 1 else None
    return None if spec is None else spec[0]


def annotation_broadcast(e: S.Expr, lookup) -> int | None:
    """``broadcast_size`` of the annotation expression ``e`` (None when it is no such list)."""
    if "BroadcastingList" not in annotation_text(e):
        return None
    try:
        return broadcast_size(evaluate_annotation(e, _with_script_names(lookup)))
    except Exception:  # noqa: BLE001 - not evaluable: resolve() reports it
        return None


def annotation_text(e: S.Expr) -> str:
    if isinstance(e, S.Name):
        return e.id
    if isinstance(e, S.Attribute):
        return f"{annotation_text(e.value)}.{e.attr}"
    if isinstance(e, S.Subscript):
        return f"{annotation_text(e.value)}[{annotation_text(e.index)}]"
    if isinstance(e, S.Tuple):
        return ", ".join(annotation_text(x) for x in e.elts)
    if isinstance(e, S.Constant):
        return repr(e.value)
    return "?"


def evaluate_annotation(e: S.Expr, lookup) -> object:
    """Evaluate an annotation expression to a Python typing object; ``lookup(name)`` resolves
    names (the function's globals). Raises KeyError/TypeError when it cannot."""
    if isinstance(e, S.Constant):
        if isinstance(e.value, str):   # a string annotation: "List[int]"
            return eval(e.value, {}, _LookupMap(lookup))  # noqa: S307 - names only, no builtins
        return e.value
    if isinstance(e, S.Name):
        return lookup(e.id)
    if isinstance(e, S.Attribute):
        return getattr(evaluate_annotation(e.value, lookup), e.attr)
    if isinstance(e, S.Subscript):
        base = evaluate_annotation(e.value, lookup)
        if isinstance(e.index, S.Tuple):
            return base[tuple(evaluate_annotation(x, lookup) for x in e.index.elts)]
        return base[evaluate_annotation(e.index, lookup)]
    if isinstance(e, S.BinOp) and e.op == "|":
        return typing.Union[evaluate_annotation(e.left, lookup),  # noqa: UP007
                            evaluate_annotation(e.right, lookup)]
    raise TypeError("unsupported annotation expression")


class _LookupMap(dict):
    def __init__(self, lookup):
        super().__init__()
        self.lookup = lookup

    def __missing__(self, key):
        return self.lookup(key)


def resolve(e: S.Expr, lookup, src) -> T.Type:
    """The IR type an annotation denotes, or a ScriptError pointing at it."""
    try:
        obj = evaluate_annotation(e, lookup)
    except Exception:  # noqa: BLE001 - any failure here means "not a type we know"
        obj = _UNKNOWN
    t = None if obj is _UNKNOWN else type_from_python(obj)
    if t is None:
        raise src.error(f"unknown type annotation '{annotation_text(e)}'", e.pos,
                        "script supports Tensor, int, float, bool, str, None and typing's "
                        "List, Tuple, Dict, Optional and Union of those (or A | B)")
    return t


_UNKNOWN = object()


def _python_def(text: str) -> ast.FunctionDef | None:
    """The first ``def`` of ``text`` parsed by CPython with its ``# type:`` comments."""
    try:
        tree = ast.parse(text, type_comments=True)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node
    return None


def _with_script_names(lookup):
    """``lookup``, then the names TorchScript knows in a type comment without an import."""

    def find(name: str):
        try:
            return lookup(name)
        except KeyError:
            if name == "Tensor":
                return Tensor
            if name == "Device":
                return Device
            if name in ("List", "Dict", "Tuple", "Optional", "Union", "Any"):
                return getattr(typing, name)
            if name in BROADCASTING_LISTS:
                return BROADCASTING_LISTS[name]
            raise

    return find


def _comment_type(text: str, lookup, src, pos, where: str, broadcasts: dict | None = None,
                  name: str = "") -> T.Type:
    try:
        obj = eval(text, {}, _LookupMap(_with_script_names(lookup)))  # noqa: S307 - own source
    except Exception:  # noqa: BLE001 - any failure here means "not a type we know"
        obj = _UNKNOWN
    t = None if obj is _UNKNOWN else type_from_python(obj)
    if t is None:
        raise src.error(f"unknown type '{text}' in the {where}", pos,
                        "script supports Tensor, int, float, bool, str, None and typing's "
                        "List, Tuple, Dict, Optional and Union of those (or A | B)")
    if broadcasts is not None and (n := broadcast_size(obj)) is not None:
        broadcasts[name] = n
    return t


def signature_types(src, fn: S.FunctionDef, py_fn, lookup, skip_self: bool,
                    broadcasts: dict | None = None) -> tuple[dict[str, T.Type], T.Type | None]:
    """Parameter and return types the source gives outside the syntax tree: the evaluated
    ``__annotations__`` (they may name types imported in an enclosing function, which the
    function's globals do not see) and ``# type: (int, float) -> int`` signature comments
    (TorchScript's Python 2 form; ``self`` is not listed for methods). ``broadcasts`` (when
    given) receives N for each parameter declared ``BroadcastingListN[E]``."""
    params = [p.name for p in fn.params][1 if skip_self else 0:]
    types: dict[str, T.Type] = {}
    ret: T.Type | None = None
    anns = getattr(py_fn, "__annotations__", None) or {}
    for name, obj in anns.items():
        if isinstance(obj, str):
            continue
        t = type_from_python(obj)
        if t is not None and name == "return":
            ret = t
        elif t is not None and name in params:
            types[name] = t
            if broadcasts is not None and (n := broadcast_size(obj)) is not None:
                broadcasts[name] = n
    if "# type:" not in src.text:
        return types, ret
    node = _python_def(src.text)
    if node is None:
        return types, ret
    for a in node.args.args + node.args.kwonlyargs:
        if a.type_comment and a.arg in params and a.arg not in types:
            types[a.arg] = _comment_type(a.type_comment, lookup, src, fn.pos,
                                         f"type comment of '{a.arg}'", broadcasts, a.arg)
    if not node.type_comment:
        return types, ret
    text = node.type_comment.split("#")[0].strip()
    has_return = "->" in text    # '# type: (int)' leaves the return type to inference
    try:
        sig = ast.parse(text if has_return else text + " -> None", mode="func_type")
    except SyntaxError:
        raise src.error(f"cannot read the signature comment '# type: {node.type_comment}'",
                        fn.pos, "write it as '# type: (int, float) -> int'") from None
    argtypes = sig.argtypes
    if len(argtypes) == 1 and isinstance(argtypes[0], ast.Constant) and \
            argtypes[0].value is Ellipsis:   # '(...) -> T': the parameters have their own
        argtypes = []
        params = []
    if len(argtypes) != len(params):
        raise src.error(f"the signature comment of {fn.name} has {len(sig.argtypes)} types "
                        f"for {len(params)} parameters", fn.pos,
                        "list one type per parameter (not self)")
    for name, node_t in zip(params, argtypes):
        if name not in types:
            types[name] = _comment_type(ast.unparse(node_t), lookup, src, fn.pos,
                                        "signature comment", broadcasts, name)
    if ret is None and has_return:
        ret = _comment_type(ast.unparse(sig.returns), lookup, src, fn.pos, "signature comment")
    return types, ret
