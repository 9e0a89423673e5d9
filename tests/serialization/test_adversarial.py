"""Hostile archives: every one ends in a FormatError with a precise message, quickly and without
large allocations — never another exception, never a hang."""

from __future__ import annotations

import io
import json
import struct
import time
import tracemalloc

import pytest

from graphtorch.archive import graph_checks, load
from graphtorch.errors import FormatError

from .archive_edit import members, pack

MEMBERS = members()
TIME_LIMIT_S = 30.0      # "never a hang" on a loaded CI machine; each case takes < 1 s alone
MEMORY_LIMIT = 64 << 20


def _fails(data: bytes, *patterns: str, member: str | None = None) -> FormatError:
    """Load ``data``; it must raise FormatError matching ``patterns`` within the time and
    memory bounds."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(FormatError) as info:
            load(io.BytesIO(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - start
    message = str(info.value)
    assert elapsed < TIME_LIMIT_S, (elapsed, message)
    assert peak < MEMORY_LIMIT + 4 * len(data), (peak, message)
    for p in patterns:
        assert p in message, (p, message)
    if member is not None:
        assert info.value.member == member, (info.value.member, message)
    return info.value


def _manifest(change) -> bytes:
    obj = json.loads(MEMBERS["graphtorch.json"])
    change(obj)
    return pack({**MEMBERS, "graphtorch.json": json.dumps(obj).encode()})


def _tensors_header(text: bytes, data: bytes | None = None) -> bytes:
    blob = MEMBERS["tensors.safetensors"]
    (n,) = struct.unpack("<Q", blob[:8])
    data = blob[8 + n:] if data is None else data
    return pack({**MEMBERS, "tensors.safetensors": struct.pack("<Q", len(text)) + text + data})


def _header_with(extra: str) -> bytes:
    blob = MEMBERS["tensors.safetensors"]
    (n,) = struct.unpack("<Q", blob[:8])
    head = blob[8:8 + n].rstrip()
    return _tensors_header(head[:-1] + b"," + extra.encode() + b"}")


# -- deeply nested JSON ------------------------------------------------------------------------
@pytest.mark.parametrize("text", [b"[" * 100_000 + b"]" * 100_000,
                                  b'{"a":' * 100_000 + b"1" + b"}" * 100_000])
def test_deeply_nested_manifest(text):
    _fails(pack({**MEMBERS, "graphtorch.json": text}), "JSON nesting is too deep",
           member="graphtorch.json")


def test_deeply_nested_safetensors_header():
    _fails(_tensors_header(b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
           "safetensors header JSON nesting is too deep", member="tensors.safetensors")


def test_deeply_nested_attribute_value():
    value = {"int": 1}
    for _ in range(300):
        value = {"list": [value]}

    def change(obj):
        obj["root"]["attributes"] = [{"name": "deep", "type": "int", "value": value}]

    _fails(_manifest(change), "values nest deeper than 64", member="graphtorch.json")


def test_deeply_nested_modules():
    def change(obj):
        m = obj["root"]
        for _ in range(230):
            m["submodules"] = [{"name": "s", "class": "C", "kind": "script", "training": False}]
            m = m["submodules"][0]

    _fails(_manifest(change), "modules nest deeper than 200", member="graphtorch.json")


def test_huge_integer_literal():
    _fails(_header_with('"big":{"dtype":"F32","shape":[1],"data_offsets":[0,' + "9" * 5000
                        + "]}"), "bad safetensors header JSON", "4300 digits",
           member="tensors.safetensors")


# -- duplicate keys: two readers must not see two different models -----------------------------
def test_duplicate_key_in_manifest():
    text = MEMBERS["graphtorch.json"].replace(b'{\n "entry_function"',
                                              b'{"format_version": "9.0", "entry_function"', 1)
    _fails(pack({**MEMBERS, "graphtorch.json": text}),
           "JSON has the key 'format_version' twice in one object", member="graphtorch.json")


def test_duplicate_key_in_safetensors_header():
    _fails(_header_with('"l1.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}'),
           "safetensors header JSON has the key 'l1.weight' twice",
           member="tensors.safetensors")


def test_duplicate_member_names_listed_in_the_central_directory():
    data = bytearray(pack(MEMBERS))
    victim, twin = "code/l1/forward.gtir", "code/l2/forward.gtir"   # same length
    pos = bytes(data).rindex(twin.encode())          # its name in the central directory
    data[pos:pos + len(twin)] = victim.encode()
    _fails(bytes(data), "the member appears twice in the archive", member=victim)


# -- tensors: shapes, offsets, overlaps --------------------------------------------------------
@pytest.mark.parametrize("entry, message", [
    ('"huge":{"dtype":"F32","shape":[65536,65536],"data_offsets":[0,4]}',
     "data_offsets span 4 bytes but shape [65536, 65536] of F32 needs 17179869184"),
    ('"huge":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}',
     "shape [4294967296, 4294967296] is too large"),
    ('"huge":{"dtype":"F64","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}',
     "shape [0, 4294967296, 4294967296] is too large"),
    ('"neg":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}',
     "data_offsets [-4, 0] fall outside the"),
    ('"rev":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}', "data_offsets [8, 4] fall"),
    ('"flt":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}',
     "shape must be a list of at most 64 non-negative ints, got [1.0]"),
    ('"bool":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}', "non-negative ints"),
    ('"dims":{"dtype":"U8","shape":[' + ",".join(["1"] * 65) + '],"data_offsets":[0,1]}',
     "at most 64"),
    ('"over":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}', "overlap"),
    ('"str":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}', "must be [begin, end] ints"),
    ('"__metadata__":{"k":1}', "__metadata__ must map strings to strings"),
])
def test_hostile_tensor_entries(entry, message):
    _fails(_header_with(entry), message, member="tensors.safetensors")


def test_huge_shape_declared_in_the_ir_with_small_data():
    data = pack({**MEMBERS, "code/l1/forward.gtir": MEMBERS["code/l1/forward.gtir"].replace(
        b"Tensor(float32, [8, 4], cpu) = prim::GetAttr",
        b"Tensor(float32, [4294967296, 4294967296], cpu) = prim::GetAttr", 1)})
    _fails(data, "Linear.weight is declared Tensor(float32, [4294967296, 4294967296], cpu)",
           "holds Tensor(float32, [8, 4])", member="code/l1/forward.gtir")


# -- names: NUL, unicode tricks, reserved ------------------------------------------------------
@pytest.mark.parametrize("name, message", [
    ("code/forward.gtir\x00", "control, format"),
    ("code/forward.gtir\u200b", "control, format"),         # zero-width space
    ("code/\u202eritg.drawrof", "control, format"),        # right-to-left override
    ("code/\x85x", "control, format"),                      # C1 control
    ("code/fo\u0301rward.gtir", "NFC"),                     # decomposed accent
])
def test_member_names_with_tricks(name, message):
    raw = name.encode("utf-8")
    placeholder = b"q" * len(raw)            # our writer refuses such names: patch them in
    data = pack({**MEMBERS, placeholder.decode(): b"x"}).replace(placeholder, raw)
    _fails(data, "unsafe member name", message)


def test_member_name_that_is_not_utf8():
    placeholder = b"q" * 8
    data = pack({**MEMBERS, placeholder.decode(): b"x"}).replace(placeholder,
                                                                 b"extra\xc0\xafx")  # overlong /
    _fails(data, "is not valid UTF-8")


def _slot_rename(old: str, new: str) -> bytes:
    """Rename parameter ``weight`` of l1 in both the manifest and the IR, consistently."""
    obj = json.loads(MEMBERS["graphtorch.json"])
    sub = obj["root"]["submodules"][0]
    assert sub["parameters"][0]["name"] == old
    sub["parameters"][0]["name"] = new
    ir = MEMBERS["code/l1/forward.gtir"].replace(f'name="{old}"'.encode(),
                                                 b"name=" + json.dumps(new).encode())
    return pack({**MEMBERS, "graphtorch.json": json.dumps(obj).encode(),
                 "code/l1/forward.gtir": ir})


@pytest.mark.parametrize("name, message", [
    ("w\x00", "control, format"),
    ("\u202eevil", "control, format"),
    ("a.b", "names cannot contain '.'"),
    ("training", "is reserved"),
    ("forward", "method name 'forward' is also an attribute name"),
    ("eval", "is reserved"),
    ("state_dict", "is reserved"),
    ("_parameters", "is reserved"),
    ("__class__", "is reserved"),
    ("graph", "is reserved"),
    ("code", "is reserved"),
])
def test_hostile_slot_names(name, message):
    _fails(_slot_rename("weight", name), repr(name), message, member="graphtorch.json")


def test_method_name_must_be_an_identifier():
    def change(obj):
        obj["root"]["methods"][0]["name"] = "for ward"

    _fails(_manifest(change), "method name 'for ward' is not a Python identifier")


def test_unknown_module_kind():
    def change(obj):
        obj["root"]["kind"] = "pickle"

    _fails(_manifest(change), "root.kind: expected one of ['script', 'trace'], got 'pickle'")


# -- zip structure: bombs and overlaps ---------------------------------------------------------
def _central(data: bytes, name: str) -> int:
    """Offset of ``name``'s central directory entry."""
    pos = data.rindex(name.encode()) - 46
    assert data[pos:pos + 4] == b"PK\x01\x02"
    return pos


def test_member_declared_huge():
    data = bytearray(pack(MEMBERS))
    cd = _central(bytes(data), "code/forward.gtir")
    struct.pack_into("<II", data, cd + 20, 0xFFFFFFF0, 0xFFFFFFF0)
    _fails(bytes(data), "4294967280 bytes", "runs past the end of the member area",
           member="code/forward.gtir")


def test_member_declared_compressed_bomb():
    data = bytearray(pack(MEMBERS))
    cd = _central(bytes(data), "code/forward.gtir")
    struct.pack_into("<H", data, cd + 10, 8)                      # deflate
    struct.pack_into("<I", data, cd + 24, 0xFFFFFFF0)             # inflates to 4 GiB
    _fails(bytes(data), "compressed (zip method 8)", member="code/forward.gtir")


def test_end_record_declares_more_members_than_listed():
    data = bytearray(pack(MEMBERS))
    eocd = bytes(data).rindex(b"PK\x05\x06")
    struct.pack_into("<HH", data, eocd + 8, 65535, 65535)
    _fails(bytes(data), "the zip central directory is truncated")


def test_two_entries_share_one_local_header():
    data = bytearray(pack(MEMBERS))
    first = _central(bytes(data), "code/forward.gtir")
    (local,) = struct.unpack_from("<I", data, first + 42)
    second = _central(bytes(data), "code/l1/forward.gtir")
    struct.pack_into("<I", data, second + 42, local)
    _fails(bytes(data), "the local header names a different member",
           member="code/l1/forward.gtir")


def test_local_header_outside_the_archive():
    data = bytearray(pack(MEMBERS))
    cd = _central(bytes(data), "code/forward.gtir")
    struct.pack_into("<I", data, cd + 42, 0xFFFFFF00)
    _fails(bytes(data), "local header lies outside the archive", member="code/forward.gtir")


def test_overlapping_members():
    """A member whose data runs into the next member's local header."""
    data = bytearray(pack(MEMBERS))
    cd = _central(bytes(data), "code/forward.gtir")
    (size,) = struct.unpack_from("<I", data, cd + 24)
    struct.pack_into("<II", data, cd + 20, size + 64, size + 64)
    _fails(bytes(data), "overlaps member", member="code/forward.gtir")


# -- IR text: long lines, deep nesting, size cap -----------------------------------------------
FORWARD = MEMBERS["code/forward.gtir"].decode()


def _ir(text: str) -> bytes:
    return pack({**MEMBERS, "code/forward.gtir": text.encode()})


def test_ir_line_above_the_cap_is_refused_before_parsing():
    junk = "a" * (graph_checks.MAX_IR_LINE_BYTES + 1)
    _fails(_ir(FORWARD.replace("op::tanh(%1)", f'op::tanh[s="{junk}"](%1)')),
           "line 4 of the IR text is", "above the limit of 1048576 for one line",
           member="code/forward.gtir")


def test_ir_with_a_long_string_fails_within_bounds():
    junk = "a" * 100_000
    _fails(_ir(FORWARD.replace("op::tanh(%1)", f'op::tanh[s="{junk}"](%1 %%)')),
           "IR parse error at line 4, column 100", member="code/forward.gtir")


def test_ir_with_deeply_nested_attribute_lists():
    deep = "[" * 20_000 + "]" * 20_000
    _fails(_ir(FORWARD.replace("op::tanh(%1)", f"op::tanh[a={deep}](%1)")),
           "brackets (types, attributes, tuples) nest deeper than the limit of 32",
           member="code/forward.gtir")


def test_ir_with_deeply_nested_types():
    deep = "(" * 20_000 + "int" + ", int)" * 20_000      # tuple of tuple of ... 20000 deep
    _fails(_ir(FORWARD.replace("%x : Tensor(float32, [3, 4], cpu)", f"%x : {deep}")),
           "line 1: brackets (types, attributes, tuples) nest deeper than the limit of 32",
           member="code/forward.gtir")


def test_ir_member_above_the_cap(monkeypatch):
    monkeypatch.setattr(graph_checks, "MAX_IR_BYTES", 1000)
    _fails(_ir(FORWARD + "\n" * 2000), "above the limit of 1000 bytes",
           member="code/forward.gtir")


def test_writer_refuses_what_the_reader_would(monkeypatch):
    from graphtorch.archive import archive_members
    from graphtorch.errors import UnsupportedError

    from .models import traced_mlp

    monkeypatch.setattr(graph_checks, "MAX_IR_LINE_BYTES", 40)
    with pytest.raises(UnsupportedError, match=r"cannot save MLP\.forward: line 1 of the IR "
                                               r"text is \d+ characters long"):
        archive_members(traced_mlp())
