"""The container layout: stored members, 64-byte alignment, fixed metadata, readable by others."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
import pytest

from graphtorch.archive import FORMAT_VERSION, tensor_file
from graphtorch.archive.zip_container import ALIGNMENT, ZipArchive

from .archive_edit import members, pack


def test_standard_zip_tools_read_it():
    data = pack(members())
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        names = z.namelist()
        assert names == sorted(names)
        for info in z.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert json.loads(z.read("graphtorch.json"))["format_version"] == FORMAT_VERSION


def test_members_and_tensors_are_64_byte_aligned():
    data = pack(members())
    archive = ZipArchive.open(data)
    for info in archive.members.values():
        assert info.offset % ALIGNMENT == 0, info.name
    member = archive.members["tensors.safetensors"]
    entries, _, start = tensor_file.decode_header(archive.read("tensors.safetensors"), "t")
    assert start % ALIGNMENT == 0
    for e in entries.values():
        assert (member.offset + start + e.begin) % ALIGNMENT == 0, e.name


def test_tensors_member_is_plain_safetensors():
    from safetensors.numpy import load as st_load

    rng = np.random.default_rng(0)
    arrays = {"a": rng.standard_normal((3, 5)).astype(np.float32),
              "b": np.array([True, False, True]), "c": np.arange(7, dtype=np.int16),
              "d": np.zeros((0, 2), np.float64), "e": rng.standard_normal(3).astype(np.float16)}
    blob = tensor_file.encode(arrays)
    theirs = {k: v for k, v in st_load(blob).items() if not k.startswith("__pad.")}
    assert sorted(theirs) == sorted(arrays)
    entries, _, start = tensor_file.decode_header(blob, "t")
    for k, v in arrays.items():
        np.testing.assert_array_equal(theirs[k], v)
        ours = tensor_file.array_view(memoryview(bytearray(blob)), start, entries[k], "t")
        np.testing.assert_array_equal(ours, v)
        assert ours.dtype == v.dtype and ours.shape == v.shape


def test_bool_tensor_bytes_other_than_0_1_are_rejected():
    from graphtorch.errors import FormatError

    blob = bytearray(tensor_file.encode({"b": np.array([True, False])}))
    entries, _, start = tensor_file.decode_header(blob, "t")
    blob[start + entries["b"].begin] = 7
    with pytest.raises(FormatError, match="bool data"):
        tensor_file.array_view(memoryview(blob), start, entries["b"], "t")


def test_header_padding_keeps_json_valid():
    blob = tensor_file.encode({"x": np.ones(3, np.float32)}, {"producer": "test"})
    (n,) = struct.unpack("<Q", blob[:8])
    assert (8 + n) % ALIGNMENT == 0
    assert json.loads(blob[8:8 + n])["__metadata__"] == {"producer": "test"}
