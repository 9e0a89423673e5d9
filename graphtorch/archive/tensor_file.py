"""The tensors member: safetensors' layout, written and validated by our own code.

The layout is exactly safetensors' (``u64`` little-endian header length, a JSON header, one data
buffer), so any safetensors reader can open the member. What we add: the header is padded with
spaces so the data buffer starts 64-byte aligned, and every tensor starts 64-byte aligned too —
the gaps are filled with ``__pad.N__`` uint8 entries because safetensors forbids holes. Together
with the container's aligned members this makes every tensor a well-aligned slice of the mapped
archive file: loading is ``np.frombuffer`` on the mapping, no copy. Complex tensors have the codes
C64 and C128 (C128 is ours: a safetensors reader without it refuses the member).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

import numpy as np

from graphtorch.archive import strict_json
from graphtorch.archive.zip_container import ALIGNMENT
from graphtorch.errors import FormatError

MAX_HEADER_BYTES = 64 << 20
MAX_TENSORS = 1 << 20
MAX_DIMS = 64
MAX_EXTENT = 2**63 - 1
PAD_PREFIX = "__pad."

# safetensors dtype names <-> numpy (little-endian on disk, whatever the host)
_TO_NUMPY = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "I16": "<i2", "I32": "<i4", "I64": "<i8",
             "F16": "<f2", "F32": "<f4", "F64": "<f8", "C64": "<c8", "C128": "<c16"}
_FROM_NUMPY = {(np.dtype(v).kind, np.dtype(v).itemsize): k for k, v in _TO_NUMPY.items()}


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: str          # safetensors name: F32, I64 ...
    shape: tuple[int, ...]
    begin: int          # offsets in the data buffer
    end: int

    @property
    def numpy_dtype(self) -> np.dtype:
        return np.dtype(_TO_NUMPY[self.dtype])


def dtype_code(np_dtype: np.dtype) -> str:
    dt = np.dtype(np_dtype)
    code = _FROM_NUMPY.get((dt.kind, dt.itemsize))
    if code is None:
        raise FormatError(f"tensors of numpy dtype {np_dtype} cannot be saved")
    return code


def encode(arrays: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> bytes:
    """The member's bytes for ``arrays`` (name -> host array), tensors in name order."""
    entries, chunks, offset, n_pad = {}, [], 0, 0
    for name in sorted(arrays):
        if name.startswith(PAD_PREFIX):
            raise FormatError(f"tensor names starting with {PAD_PREFIX!r} are reserved: {name!r}")
        arr = arrays[name]
        pad = -offset % ALIGNMENT
        if pad:
            entries[f"{PAD_PREFIX}{n_pad}__"] = {"dtype": "U8", "shape": [pad],
                                                 "data_offsets": [offset, offset + pad]}
            chunks.append(b"\0" * pad)
            offset, n_pad = offset + pad, n_pad + 1
        code = dtype_code(arr.dtype)
        data = np.ascontiguousarray(arr, dtype=_TO_NUMPY[code]).tobytes()
        entries[name] = {"dtype": code, "shape": [int(d) for d in arr.shape],
                         "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        entries["__metadata__"] = dict(sorted(metadata.items()))
    header = json.dumps(entries, sort_keys=True, separators=(",", ":")).encode("utf-8")
    header += b" " * (-(8 + len(header)) % ALIGNMENT)
    return struct.pack("<Q", len(header)) + header + b"".join(chunks)


def decode_header(buf, member: str) -> tuple[dict[str, TensorEntry], dict[str, str], int]:
    """Validate the header before trusting any of it; returns (entries, metadata, data start)."""
    n = len(buf)
    if n < 8:
        raise FormatError(f"safetensors data is {n} bytes, too short for its 8-byte header "
                          "length", member=member)
    (hlen,) = struct.unpack_from("<Q", buf, 0)
    if hlen > MAX_HEADER_BYTES or 8 + hlen > n:
        raise FormatError(f"safetensors header length {hlen} exceeds the member's {n - 8} "
                          f"remaining bytes (or the {MAX_HEADER_BYTES}-byte cap)", member=member)
    header = strict_json.loads(buf[8:8 + hlen], member, "safetensors header JSON")
    if not isinstance(header, dict):
        raise FormatError("safetensors header must be a JSON object", member=member)
    if len(header) > MAX_TENSORS:
        raise FormatError(f"safetensors header lists {len(header)} tensors; the limit is "
                          f"{MAX_TENSORS}", member=member)
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise FormatError("safetensors __metadata__ must map strings to strings", member=member)
    data_len = n - 8 - hlen
    entries = {name: _check_entry(name, spec, data_len, member) for name, spec in header.items()}
    spans = sorted((e.begin, e.end, e.name) for e in entries.values() if e.end > e.begin)
    for (_, end, name), (begin, _, other) in zip(spans, spans[1:]):
        if begin < end:
            raise FormatError(f"tensors {name!r} and {other!r} overlap in the data buffer",
                              member=member)
    return ({k: v for k, v in entries.items() if not k.startswith(PAD_PREFIX)}, metadata,
            8 + hlen)


def _check_entry(name: str, spec, data_len: int, member: str) -> TensorEntry:
    def bad(why: str) -> FormatError:
        return FormatError(f"tensor {name!r}: {why}", member=member)

    if not isinstance(spec, dict):
        raise bad("header entry must be an object with dtype, shape and data_offsets")
    dtype, shape, offsets = spec.get("dtype"), spec.get("shape"), spec.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in _TO_NUMPY:
        raise bad(f"unsupported dtype {dtype!r}; expected one of {sorted(_TO_NUMPY)}")
    if (not isinstance(shape, list) or len(shape) > MAX_DIMS
            or not all(type(d) is int and d >= 0 for d in shape)):
        raise bad(f"shape must be a list of at most {MAX_DIMS} non-negative ints, got {shape!r}")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(type(o) is int for o in offsets)):
        raise bad(f"data_offsets must be [begin, end] ints, got {offsets!r}")
    begin, end = offsets
    if not 0 <= begin <= end <= data_len:
        raise bad(f"data_offsets [{begin}, {end}] fall outside the {data_len}-byte data buffer")
    itemsize = np.dtype(_TO_NUMPY[dtype]).itemsize
    numel, extent = 1, itemsize
    for d in shape:
        numel *= d
        extent *= max(d, 1)
    if extent > MAX_EXTENT:
        # NOTE: numpy cannot even make an empty array whose other dims overflow its indexing
        raise bad(f"shape {shape} is too large (its dimensions span more than 2**63 bytes)")
    expected = numel * itemsize
    if end - begin != expected:
        raise bad(f"data_offsets span {end - begin} bytes but shape {shape} of {dtype} needs "
                  f"{expected}")
    return TensorEntry(name, dtype, tuple(shape), begin, end)


def array_view(buf, data_start: int, entry: TensorEntry, member: str) -> np.ndarray:
    """The tensor as a numpy array over ``buf`` (no copy), native byte order."""
    dt = entry.numpy_dtype
    count = (entry.end - entry.begin) // dt.itemsize
    arr = np.frombuffer(buf, dtype=dt, count=count, offset=data_start + entry.begin)
    arr = arr.reshape(entry.shape)
    if entry.dtype == "BOOL" and count and arr.view(np.uint8).max() > 1:
        raise FormatError(f"tensor {entry.name!r}: bool data holds bytes other than 0 and 1",
                          member=member)
    if not dt.isnative:
        arr = arr.astype(dt.newbyteorder("="))
    return arr
