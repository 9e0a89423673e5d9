"""Mutated real archives (truncated, flipped bytes, swapped members): loading either works or
raises FormatError — never any other exception."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphtorch.archive import archive_members, load
from graphtorch.errors import FormatError

from .archive_edit import pack
from .models import scripted_cell

MEMBERS = archive_members(scripted_cell())
DATA = pack(MEMBERS)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _load_or_format_error(data: bytes) -> None:
    try:
        load(io.BytesIO(data))
    except FormatError:
        pass


@SETTINGS
@given(st.integers(0, len(DATA) - 1))
def test_truncate(n):
    _load_or_format_error(DATA[:n])


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, len(DATA) - 1), st.integers(1, 255)), min_size=1,
                max_size=8))
def test_flip_bytes(flips):
    data = bytearray(DATA)
    for pos, mask in flips:
        data[pos] ^= mask
    _load_or_format_error(bytes(data))


@SETTINGS
@given(st.permutations(sorted(MEMBERS)))
def test_swap_members(order):
    names = sorted(MEMBERS)
    _load_or_format_error(pack({new: MEMBERS[old] for old, new in zip(names, order)}))


TEXT_MEMBERS = sorted(k for k in MEMBERS if not k.endswith(".safetensors"))


@SETTINGS
@given(st.sampled_from(TEXT_MEMBERS), st.data())
def test_mutate_member_text_with_valid_crc(member, data):
    """Past the CRC check: damaged JSON or IR text must still end in a FormatError."""
    blob = bytearray(MEMBERS[member])
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(blob) - 1))
        blob[pos] = data.draw(st.sampled_from(b"%()[]{}:,\"0123456789 \n.-xTensor"))
    _load_or_format_error(pack({**MEMBERS, member: bytes(blob)}))


@SETTINGS
@given(st.data())
def test_mutate_tensor_header_with_valid_crc(data):
    blob = bytearray(MEMBERS["tensors.safetensors"])
    header_len = int.from_bytes(blob[:8], "little")
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, 8 + header_len - 1))
        blob[pos] = data.draw(st.integers(0, 255))
    _load_or_format_error(pack({**MEMBERS, "tensors.safetensors": bytes(blob)}))
