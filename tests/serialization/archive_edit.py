"""Rewriting members of a real archive (with valid CRCs) to reach the deeper validators."""

from __future__ import annotations

import io

from graphtorch.archive import archive_members
from graphtorch.archive.zip_container import write_archive

from .models import traced_mlp


def members() -> dict[str, bytes]:
    return archive_members(traced_mlp())


def pack(ms: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    write_archive(ms, buf)
    return buf.getvalue()


def edit(member: str, old: bytes, new: bytes) -> bytes:
    ms = members()
    assert old in ms[member], (member, old)
    ms[member] = ms[member].replace(old, new, 1)
    return pack(ms)
