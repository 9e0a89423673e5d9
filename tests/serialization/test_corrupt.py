"""Every kind of bad archive gives a FormatError that names the member and what is wrong."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
import pytest

from graphtorch.archive import load, manifest, tensor_file
from graphtorch.errors import FormatError

from .archive_edit import edit, members, pack


def _fails(data: bytes, *patterns: str) -> FormatError:
    with pytest.raises(FormatError) as info:
        load(io.BytesIO(data))
    for p in patterns:
        assert p in str(info.value), (p, str(info.value))
    return info.value


def _manifest_with(change) -> bytes:
    ms = members()
    obj = json.loads(ms["graphtorch.json"])
    change(obj)
    ms["graphtorch.json"] = json.dumps(obj).encode()
    return pack(ms)


def test_not_a_zip():
    _fails(b"hello, I am a text file with enough bytes to look for a zip end record",
           "not a .gt archive", "not a zip")


def test_empty_file(tmp_path):
    (tmp_path / "e.gt").write_bytes(b"")
    with pytest.raises(FormatError, match="0 bytes"):
        load(tmp_path / "e.gt")


def test_missing_file(tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        load(tmp_path / "nope.gt")


@pytest.mark.parametrize("keep", [0.3, 0.9, 0.999])
def test_truncated(keep):
    data = pack(members())
    _fails(data[:int(len(data) * keep)], "truncated")


@pytest.mark.parametrize("member", ["graphtorch.json", "tensors.safetensors",
                                    "code/forward.gtir", "code/l2/forward.gtir"])
def test_missing_member(member):
    ms = members()
    del ms[member]
    err = _fails(pack(ms), "required member is missing")
    assert err.member == member


def test_bad_json():
    ms = members()
    ms["graphtorch.json"] = ms["graphtorch.json"][:-20]
    _fails(pack(ms), "graphtorch.json: bad JSON at line")


def test_newer_major_version():
    def bump(obj):
        obj["format_version"] = "2.3"
        obj["producer"]["version"] = "7.1.0"

    _fails(_manifest_with(bump), "graphtorch.json", "format version 2.3",
           "upgrade graphtorch to 7.1.0")


def test_newer_minor_version_and_unknown_fields_are_accepted():
    def extend(obj):
        obj["format_version"] = "1.7"
        obj["some_future_field"] = {"x": 1}
        obj["root"]["future_module_field"] = [1, 2]

    ms = members()
    ms["extra/future_member.bin"] = b"\x00\x01"
    obj = json.loads(ms["graphtorch.json"])
    extend(obj)
    ms["graphtorch.json"] = json.dumps(obj).encode()
    m = load(io.BytesIO(pack(ms)))
    assert m.l1.weight.shape == (8, 4)


def test_field_of_wrong_type_names_the_json_path():
    def bad(obj):
        obj["root"]["submodules"][1]["parameters"][0]["key"] = 5

    _fails(_manifest_with(bad), "graphtorch.json",
           "root.submodules[1].parameters[0].key: expected a string, got an integer")


def test_missing_field_names_the_json_path():
    _fails(_manifest_with(lambda obj: obj["root"].pop("class")),
           "graphtorch.json", "root: missing field 'class'")


def test_bad_attribute_value():
    def bad(obj):
        obj["root"]["attributes"] = [{"name": "k", "type": "int", "value": {"int": "three"}}]

    _fails(_manifest_with(bad), "graphtorch.json", "int value expected")


def test_tensor_key_missing_from_tensors_member():
    def bad(obj):
        obj["root"]["submodules"][0]["parameters"][0]["key"] = "nope"

    _fails(_manifest_with(bad), "tensors.safetensors", "tensor 'nope'", "missing")


def _tensors_with_header(change) -> bytes:
    ms = members()
    blob = ms["tensors.safetensors"]
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    change(header)
    text = json.dumps(header).encode()
    ms["tensors.safetensors"] = struct.pack("<Q", len(text)) + text + blob[8 + n:]
    return pack(ms)


@pytest.mark.parametrize("change, message", [
    (lambda h: h["l1.weight"].update(data_offsets=[0, 10 ** 9]), "outside the"),
    (lambda h: h["l1.weight"].update(dtype="Q99"), "unsupported dtype 'Q99'"),
    (lambda h: h["l1.weight"].update(shape=[8, 5]), "needs"),
    (lambda h: h["l1.weight"].update(shape=[-8, 4]), "non-negative"),
    (lambda h: h["l1.bias"].update(data_offsets=h["l1.weight"]["data_offsets"],
                                   shape=[8, 4]), "overlap"),
])
def test_safetensors_header_checks(change, message):
    _fails(_tensors_with_header(change), "tensors.safetensors", message)


def test_safetensors_header_length_beyond_member():
    ms = members()
    blob = ms["tensors.safetensors"]
    ms["tensors.safetensors"] = struct.pack("<Q", 2 ** 40) + blob[8:]
    _fails(pack(ms), "tensors.safetensors", "header length")


def test_tensor_shape_differs_from_ir_type():
    ms = members()
    arrays = {"l1.weight": np.zeros((8, 5), np.float32), "l1.bias": np.zeros(8, np.float32),
              "l2.weight": np.zeros((2, 8), np.float32), "l2.bias": np.zeros(2, np.float32)}
    ms["tensors.safetensors"] = tensor_file.encode(arrays)
    _fails(pack(ms), "code/l1/forward.gtir", "line 2", "Tensor(float32, [8, 4], cpu)",
           "Tensor(float32, [8, 5])")


def test_tensor_dtype_differs_from_ir_type():
    data = edit("code/l2/forward.gtir", b"Tensor(float32, [2], cpu) = prim::GetAttr",
                b"Tensor(float64, [2], cpu) = prim::GetAttr")
    _fails(data, "code/l2/forward.gtir", "line 3", "float64")


def test_ir_parse_error_has_line_and_column():
    err = _fails(edit("code/forward.gtir", b"op::tanh(%1)", b"op::tanh(%1 %%)"),
                 "code/forward.gtir: IR parse error at line 4, column")
    assert err.member == "code/forward.gtir"


def test_unknown_op():
    _fails(edit("code/forward.gtir", b"op::tanh", b"op::frobnicate"),
           "code/forward.gtir: line 4: unknown op 'op::frobnicate'")


def test_python_op_in_archive_is_refused():
    _fails(edit("code/forward.gtir", b"op::tanh(%1)", b'prim::PythonOp[name="evil"](%1)'),
           "code/forward.gtir", "prim::PythonOp")


def test_getattr_of_missing_slot():
    _fails(edit("code/forward.gtir", b'name="l2"', b'name="l3"'),
           "code/forward.gtir", "line 5", "'l3'", "does not have")


def test_class_mismatch():
    _fails(edit("code/l1/forward.gtir", b"%self : __torch__.nn.Linear",
                b"%self : __torch__.nn.Conv2d"), "code/l1/forward.gtir", "first input")


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "a/../../b", "c:\\x",
                                  "code/./x"])
def test_unsafe_member_names(name):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in members().items():
            z.writestr(k, v)
        info = zipfile.ZipInfo("placeholder")
        info.filename = name   # ZipInfo would normalise some names; keep them raw
        z.writestr(info, b"x")
    _fails(buf.getvalue(), "unsafe member name")


def test_compressed_member():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for k, v in members().items():
            z.writestr(k, v)
    _fails(buf.getvalue(), "compressed", "stored uncompressed")


def test_duplicate_member():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z, pytest.warns(UserWarning):
        for k, v in members().items():
            z.writestr(k, v)
        z.writestr("graphtorch.json", b"{}")
    _fails(buf.getvalue(), "graphtorch.json", "twice")


def test_crc_mismatch_names_the_member():
    data = bytearray(pack(members()))
    pos = bytes(data).index(b'"producer"')
    data[pos + 1] ^= 0x20
    _fails(bytes(data), "graphtorch.json", "CRC-32 mismatch")


def test_size_cap(monkeypatch):
    monkeypatch.setattr(manifest, "MAX_MANIFEST_BYTES", 100)
    _fails(pack(members()), "graphtorch.json", "above the limit of 100 bytes")


def test_unsafe_names_are_refused_on_write():
    with pytest.raises(FormatError, match="unsafe member name"):
        pack({"../x": b""})


def test_tensor_constant_shape_differs_from_ir_type():
    from graphtorch.archive import archive_members

    from .models import traced_with_constant

    ms = archive_members(traced_with_constant())
    (member,) = [k for k in ms if k.endswith(".gtir")]
    ms["tensors.safetensors"] = tensor_file.encode({f"{member}:c0": np.zeros(5, np.float32)})
    _fails(pack(ms), member, "line 2", "tensor constant 'c0'", "Tensor(float32, [5])")
