"""A corpus of hostile archives: each is the victim archive (hostile_models.py) with one attack
written into it by hand, and the fragments the FormatError refusing it must contain.

Every attack targets one rule of the closed instruction set (docs/format.md, "Security model")
or one crash a reader of hostile files must turn into a clean error.
"""

from __future__ import annotations

import io
import json
import struct

from graphtorch.archive import archive_members
from graphtorch.archive.zip_container import write_archive

from .hostile_models import scripted_victim

FORWARD = "code/forward.gtir"
MANIFEST = "graphtorch.json"
TENSORS = "tensors.safetensors"
MARKER = "gt_hostile_marker"     # in every payload string: an audit hook looks for it

# The strings attacks use to reach Python: none may ever reach getattr/exec/compile/import.
HOSTILE_NAMES = ("__globals__", "__builtins__", "__class__", "__func__", "__init__", "__call__",
                 "__code__",
                 "__dict__", "__subclasses__", "__mro__", "__reduce__", "system", "exec",
                 "eval", "__import__", "reset_parameters", "data", "_parameters")

_EXEC_CHAIN = f'''  %p0 : Any = prim::GetAttr[name="forward"](%0)
  %p1 : Any = prim::GetAttr[name="__func__"](%p0)
  %p2 : Any = prim::GetAttr[name="__globals__"](%p1)
  %pk : str = prim::Constant[value="__builtins__"]()
  %p3 : Any = prim::DictIndex(%p2, %pk)
  %pe : str = prim::Constant[value="exec"]()
  %p4 : Any = prim::DictIndex(%p3, %pe)
  %pc : str = prim::Constant[value="print('{MARKER}')"]()
  %p5 : Any = prim::CallMethod[name="__call__"](%p4, %pc)
'''


def victim_members() -> dict[str, bytes]:
    return archive_members(scripted_victim())


def pack(ms: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    write_archive(ms, buf)
    return buf.getvalue()


def _after_line(text: str, needle: str, insert: str) -> str:
    i = text.index(needle)
    j = text.index("\n", i) + 1
    return text[:j] + insert + text[j:]


def _deep_if(depth: int) -> str:
    lines, pad = [], "  "
    for i in range(depth):
        lines.append(f"{pad}%d{i} : bool = prim::Constant[value=True]()")
        lines.append(f"{pad}= prim::If(%d{i})")
        lines.append(f"{pad}  block0():")
        pad += "    "
    body = []
    for i in reversed(range(depth)):
        pad = "  " + "    " * i
        body += [f"{pad}    -> ()", f"{pad}  block1():", f"{pad}    -> ()"]
    return "\n".join(lines + body) + "\n"


def _ir_cases(forward: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """name -> (new forward IR, fragments of the error)."""
    lin = '%0 : __torch__.nn.Linear = prim::GetAttr[name="lin"](%self)'
    after_lin = lambda s: _after_line(forward, lin, s)          # noqa: E731
    ret = "  return (%5)"
    cases = {
        "exec_through_globals": (after_lin(_EXEC_CHAIN),
                                 ("line 3", "prim::GetAttr", "'forward'", "does not have")),
        "getattr_dunder_on_self": (after_lin('  %q : Any = prim::GetAttr[name="__class__"]'
                                             '(%self)\n'), ("never a dunder",)),
        "getattr_init": (after_lin('  %q : Any = prim::GetAttr[name="__init__"](%0)\n'),
                         ("never a dunder",)),
        "getattr_method_name": (after_lin('  %q : Any = prim::GetAttr[name="forward"](%self)\n'),
                                ("'forward'", "does not have")),
        "getattr_python_attr": (after_lin('  %q : Any = prim::GetAttr[name="_parameters"]'
                                          '(%0)\n'), ("'_parameters'", "does not have")),
        "getattr_on_tensor": (after_lin('  %q : Tensor = prim::GetAttr[name="data"](%x)\n'),
                              ("only module values",)),
        "getattr_no_input": (after_lin('  %q : Any = prim::GetAttr[name="lin"]()\n'),
                             ("prim::GetAttr", "takes 1 input(s), got 0")),
        "callmethod_no_args": (after_lin('  %q : Tensor = prim::CallMethod[name="forward"]()\n'),
                               ("prim::CallMethod", "takes the module to call")),
        "callmethod_init": (after_lin('  %q : Any = prim::CallMethod[name="__init__"](%0)\n'),
                            ("never a dunder",)),
        "callmethod_call_on_tensor": (after_lin('  %q : Any = prim::CallMethod[name="__call__"]'
                                                '(%x)\n'), ("only module values",)),
        "callmethod_undeclared": (after_lin('  %q : Any = prim::CallMethod'
                                            '[name="reset_parameters"](%0)\n'),
                                  ("'reset_parameters'", "among its methods")),
        "callfunction_builtin": (after_lin('  %q : Any = prim::CallFunction[name="builtins.exec"]'
                                           '(%x)\n'), ("'builtins.exec'", "does not hold")),
        "callfunction_arity": (forward.replace("common_scale\"](%1)", "common_scale\"](%1, %1)"),
                               ("passes 2 argument(s)",)),
        "callmethod_result_type": (forward.replace(
            '%1 : Tensor = prim::CallMethod', '%1 : int = prim::CallMethod'),
            ("result 0 of method forward is declared int",)),
        "dictindex_on_module": (after_lin('  %k : str = prim::Constant[value="lin"]()\n'
                                          '  %q : Any = prim::DictIndex(%self, %k)\n'),
                                ("module value", "cannot be input 0 of prim::DictIndex")),
        "dictindex_on_tensor": (after_lin('  %k : str = prim::Constant[value="a"]()\n'
                                          '  %q : Any = prim::DictIndex(%x, %k)\n'),
                                ("prim::DictIndex", "must be a Dict")),
        "listindex_on_str": (after_lin('  %k : str = prim::Constant[value="abc"]()\n'
                                       '  %i : int = prim::Constant[value=0]()\n'
                                       '  %q : str = prim::ListIndex(%k, %i)\n'),
                             ("prim::ListIndex", "must be a List")),
        "tupleunpack_of_tensor": (forward.replace("prim::TupleUnpack(%pair)",
                                                  "prim::TupleUnpack(%x)"),
                                  ("prim::TupleUnpack", "must be a Tuple")),
        "tupleunpack_result_type": (forward.replace(
            "%a : Tensor, %b : Tensor(float32, [3], cpu) = prim::TupleUnpack(%pair)",
            "%a : int, %b : Tensor(float32, [3], cpu) = prim::TupleUnpack(%pair)"),
            ("result 0 is declared int, but the value is Tensor",)),
        "tupleconstruct_element_type": (forward.replace(
            "%pair : (Tensor, Tensor(float32, [3], cpu)) = prim::TupleConstruct",
            "%pair : (str, Tensor(float32, [3], cpu)) = prim::TupleConstruct"),
            ("element 0 is declared str",)),
        "tupleunpack_arity": (forward.replace(
            "%a : Tensor, %b : Tensor(float32, [3], cpu) = prim::TupleUnpack(%pair)",
            "%a : Tensor, %b : Tensor(float32, [3], cpu), %c : Tensor = "
            "prim::TupleUnpack(%pair)"), ("prim::TupleUnpack",)),
        "scalar_op_arity": (after_lin("  %q : int = prim::len(%x, %x)\n"),
                            ("prim::len", "takes 1 input(s), got 2")),
        "module_into_op": (after_lin("  %q : Tensor = op::add(%self, %x)\n"),
                           ("module value", "op::add")),
        "module_into_str": (after_lin("  %q : str = prim::str(%0)\n"),
                            ("module value", "prim::str")),
        "module_into_tuple": (after_lin("  %q : (Tensor, Tensor) = prim::TupleConstruct(%0, %x)\n"),
                              ("module value", "prim::TupleConstruct")),
        "module_returned": (forward.replace(ret, "  return (%0)"), ("returned",)),
        "module_cast_to_any": (after_lin("  %q : Any = prim::unchecked_cast(%0)\n"),
                               ("module value",)),
        "class_typed_input": (forward.replace("%x : Tensor):", "%x : __torch__.nn.Linear):"),
                              ("graph input", "__torch__.nn.Linear")),
        "setattr_undeclared": (after_lin('  = prim::SetAttr[name="forward"](%self, %x)\n'),
                               ("writes 'forward'",)),
        "setattr_parameter_to_int": (after_lin(
            '  %i : int = prim::Constant[value=3]()\n'
            '  = prim::SetAttr[name="offset"](%self, %i)\n'), ("writes a int into 'offset'",)),
        "graph_constant": (after_lin('  %q : Any = prim::Constant[value=graph(%z : Tensor):\n'
                                     '  return (%z)\n]()\n'), ("not a constant value",)),
        "format_reaches_into": (after_lin(
            '  %t : str = prim::Constant[value="{0.__class__.__init__.__globals__}"]()\n'
            '  %q : str = prim::format(%t, %x)\n'), ("reaches into an argument",)),
        "format_huge_width": (after_lin('  %t : str = prim::Constant[value="{:>999999999}"]()\n'
                                        '  %q : str = prim::format(%t, %x)\n'),
                              ("width or precision",)),
        "python_op": (after_lin(f'  %q : Any = prim::PythonOp[name="{MARKER}"](%x)\n'),
                      ("prim::PythonOp",)),
        "unknown_prim": (after_lin('  %q : Any = prim::Eval(%x)\n'),
                         ("prim::Eval", "not a node kind")),
        "py_kind": (after_lin('  %q : Any = py::exec(%x)\n'), ("py::exec", "not a node kind")),
        "unknown_inplace": (after_lin('  %q : Tensor = prim::Inplace[op="system"](%x)\n'),
                            ("unknown in-place op 'system'",)),
        "attribute_on_op": (forward.replace("op::add(%a, %b)", 'op::add[name="exec"](%a, %b)'),
                            ("carries no attributes",)),
        "unexpected_prim_attribute": (forward.replace("prim::TupleConstruct(%h, %2)",
                                                      'prim::TupleConstruct[fn="exec"](%h, %2)'),
                                      ("unexpected attribute 'fn'",)),
        "source_location_cr": (forward.replace(
            "# tests/", f"# x\r    print('{MARKER}') #tests/", 1), ("control or format",)),
        "deep_blocks": (forward.replace(ret, _deep_if(40) + ret), ("blocks nest deeper",)),
        "deep_list_type": (forward.replace("%x : Tensor):", "%x : Tensor" + "[]" * 40 + "):"),
                           ("types nest deeper",)),
        "deep_tuple_type": (forward.replace("%x : Tensor):", "%x : " + "(" * 300 + "int"
                                            + ", int)" * 300 + "):"), ("nest deeper",)),
        "absurd_device_in_type": (forward.replace("Tensor(float32, [3], cpu) = prim::GetAttr",
                                                  "Tensor(float32, [3], cuda:99999999) = "
                                                  "prim::GetAttr"), ("index", "above 1023")),
        "giant_device_index": (forward.replace("Tensor(float32, [3], cpu) = prim::GetAttr",
                                               "Tensor(float32, [3], cuda:" + "9" * 5000
                                               + ") = prim::GetAttr"),
                               ("a number of 5000 digits",)),
        "giant_int_constant": (after_lin("  %q : int = prim::Constant[value=" + "7" * 5000
                                         + "]()\n"), ("a number of 5000 digits",)),
    }
    return cases


def _manifest_case(ms: dict[str, bytes], change) -> dict[str, bytes]:
    obj = json.loads(ms[MANIFEST])
    change(obj)
    return {**ms, MANIFEST: json.dumps(obj).encode()}


def _header_case(ms: dict[str, bytes], change) -> dict[str, bytes]:
    raw = ms[TENSORS]
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    change(header)
    hb = json.dumps(header).encode()
    hb += b" " * (-(8 + len(hb)) % 64)
    return {**ms, TENSORS: struct.pack("<Q", len(hb)) + hb + raw[8 + n:]}


def _root_attr(obj, name: str, typ: str, value) -> None:
    obj["root"]["attributes"].append({"name": name, "type": typ, "value": value})


def corpus() -> dict[str, tuple[bytes, tuple[str, ...]]]:
    """name -> (archive bytes, fragments the FormatError must contain)."""
    base = victim_members()
    forward = base[FORWARD].decode()
    out = {}
    for name, (text, fragments) in _ir_cases(forward).items():
        out[f"ir:{name}"] = pack({**base, FORWARD: text.encode()}), (FORWARD, *fragments)

    def set_version(v):
        return lambda o: o.__setitem__("format_version", v)

    def default_contradicts(o):
        o["root"]["methods"][0]["defaults"] = {"x": {"tensor": "offset"}}

    manifest_cases = {
        "version_5000_digits": (set_version("1" * 5000 + ".0"), ("format_version",)),
        "version_arabic_digits": (set_version("\u0661.\u0660"), ("format_version",)),
        "attribute_device_absurd": (lambda o: _root_attr(o, "dev", "Device",
                                                         {"device": "cuda:99999999"}),
                                    ("index above 1023",)),
        "attribute_device_long": (lambda o: _root_attr(o, "dev", "Device",
                                                       {"device": "cuda:" + "9" * 5000}),
                                  ("bad device",)),
        "attribute_dunder_name": (lambda o: _root_attr(o, "__class__", "int", {"int": 1}),
                                  ("'__class__'", "is reserved")),
        "function_renamed_away": (lambda o: o["functions"][0].__setitem__("name",
                                                                          "builtins.exec"),
                                  ("does not hold",)),
    }
    for name, (change, fragments) in manifest_cases.items():
        out[f"manifest:{name}"] = pack(_manifest_case(base, change)), fragments
    # a tensor default whose shape contradicts the argument's declared sizes
    ms = _manifest_case(base, default_contradicts)
    ms[FORWARD] = forward.replace("%x : Tensor):", "%x : Tensor(float32, [5, 4])):").encode()
    out["manifest:default_shape_contradicts"] = pack(ms), ("default of argument 'x'",)
    dup = base[MANIFEST].replace(b'{\n "entry_function"',
                                 b'{\n "format_version": "1.0", "entry_function"', 1)
    out["manifest:duplicate_key"] = pack({**base, MANIFEST: dup}), ("twice in one object",)

    def first_tensor(h):
        return next(k for k in h if not k.startswith("__"))

    header_cases = {
        "dtype_list": (lambda h: h[first_tensor(h)].__setitem__("dtype", ["F32"]),
                       ("unsupported dtype",)),
        "dtype_object": (lambda h: h[first_tensor(h)].__setitem__("dtype", {"F32": 1}),
                         ("unsupported dtype",)),
        "shape_object": (lambda h: h[first_tensor(h)].__setitem__("shape", {"a": 1}),
                         ("shape must be",)),
        "offsets_strings": (lambda h: h[first_tensor(h)].__setitem__("data_offsets",
                                                                     ["0", "4"]),
                            ("data_offsets",)),
    }
    for name, (change, fragments) in header_cases.items():
        out[f"tensors:{name}"] = pack(_header_case(base, change)), (TENSORS, *fragments)
    return out
