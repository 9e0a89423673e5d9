"""The zip container of a .gt archive: a deterministic writer and a validating, mapping reader.

Both sides are written here rather than with :mod:`zipfile` because the format needs what
zipfile does not give: every member stored uncompressed with its data 64-byte aligned in the file
(so tensors can be memory-mapped), byte-identical output for identical input (fixed timestamps,
sorted members, fixed attributes), and a reader that treats the file as hostile — every
inconsistency becomes a :class:`FormatError` naming the member, never a ``struct.error``.
"""

from __future__ import annotations

import io
import mmap
import os
import struct
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path

from graphtorch.archive.atomic_file import replace_file
from graphtorch.errors import FormatError

ALIGNMENT = 64
MAX_MEMBERS = 65535
MAX_ARCHIVE_BYTES = 0xFFFFFFFF  # no zip64: members and archive stay below 4 GiB in format 1.x

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_EOCD = struct.Struct("<IHHHHIIH")
_LOCAL_SIG, _CENTRAL_SIG, _EOCD_SIG = 0x04034B50, 0x02014B50, 0x06054B50
_VERSION = 20
_MADE_BY = (3 << 8) | _VERSION           # "unix", so external attributes mean file modes
_UTF8_FLAG = 0x0800
_DOS_TIME, _DOS_DATE = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00:00, the zip epoch
_FILE_MODE = 0o100644 << 16
_ALIGN_EXTRA_ID = 0xD935                  # the id Android's zipalign uses for padding


# -- member names ------------------------------------------------------------------------------
def check_member_name(name: str) -> None:
    """Refuse names that could escape an extraction directory or mean different things on
    different systems (absolute paths, ``..``, backslashes, drive letters, control chars)."""
    why = None
    if not name:
        why = "the name is empty"
    elif name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        why = "absolute paths are not allowed"
    elif "\\" in name:
        why = "backslashes are not allowed (use '/')"
    elif any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in name):
        # NOTE: Cf holds bidi overrides and zero-width characters: names that display as
        # another name; Cs (lone surrogates) cannot even be encoded
        why = "control, format (bidi, zero-width) and surrogate characters are not allowed"
    elif unicodedata.normalize("NFC", name) != name:
        why = ("names must be in Unicode NFC form (a decomposed name looks like another "
               "member's and collides with it on some file systems)")
    elif any(part in ("", ".", "..") for part in name.split("/")):
        why = "empty, '.' and '..' path components are not allowed"
    elif len(name.encode("utf-8", "surrogatepass")) > 1024:
        why = "names are limited to 1024 bytes"
    if why:
        raise FormatError(f"unsafe member name: {why}", member=repr(name))


# -- writing -----------------------------------------------------------------------------------
def _align_extra(offset: int, name_len: int) -> bytes:
    """A padding extra field that puts the member's data on an ALIGNMENT boundary."""
    base = offset + _LOCAL.size + name_len + 4  # 4: the extra field's own id and size
    pad = -base % ALIGNMENT
    return struct.pack("<HH", _ALIGN_EXTRA_ID, pad) + b"\0" * pad


def write_archive(members: dict[str, bytes], path_or_file) -> None:
    """Write ``members`` (name -> bytes) as an archive, sorted by name, byte-for-byte stable.

    A path is replaced atomically (:mod:`graphtorch.archive.atomic_file`): the bytes go to a
    temporary file beside it, ``fsync``-ed, renamed into place, so a module loaded
    (memory-mapped) from the same path keeps reading the old file, a crash leaves the old file,
    and an overwritten file keeps its permission bits. Failures raise SaveError naming the path.
    """
    for name in members:
        check_member_name(name)
    out = io.BytesIO()
    central = []
    for name in sorted(members):
        data = members[name]
        raw = name.encode("utf-8")
        offset = out.tell()
        extra = _align_extra(offset, len(raw))
        crc = zlib.crc32(data)
        out.write(_LOCAL.pack(_LOCAL_SIG, _VERSION, _UTF8_FLAG, 0, _DOS_TIME, _DOS_DATE, crc,
                              len(data), len(data), len(raw), len(extra)))
        out.write(raw + extra)
        out.write(data)
        central.append(_CENTRAL.pack(_CENTRAL_SIG, _MADE_BY, _VERSION, _UTF8_FLAG, 0, _DOS_TIME,
                                     _DOS_DATE, crc, len(data), len(data), len(raw), 0, 0, 0, 0,
                                     _FILE_MODE, offset) + raw)
    cd_offset = out.tell()
    cd = b"".join(central)
    out.write(cd)
    out.write(_EOCD.pack(_EOCD_SIG, 0, 0, len(central), len(central), len(cd), cd_offset, 0))
    blob = out.getbuffer()
    is_path = isinstance(path_or_file, (str, os.PathLike))
    if blob.nbytes > MAX_ARCHIVE_BYTES:
        target = f" {os.fspath(path_or_file)!r}" if is_path else ""
        raise FormatError(f"cannot save{target}: the archive would be {blob.nbytes} bytes; "
                          "format 1.x archives are limited to 4 GiB")
    if is_path:
        replace_file(path_or_file, lambda f: f.write(blob))
    else:
        path_or_file.write(blob)


# -- reading -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MemberInfo:
    name: str
    offset: int   # of the data in the archive
    size: int
    crc: int


class ZipArchive:
    """A read-only view of an archive: member index plus zero-copy access to member bytes.

    Paths are memory-mapped copy-on-write, so arrays built on member bytes are writable and
    copied page by page only where they are written (training a loaded model).
    """

    def __init__(self, buffer, source: str):
        self.buffer = buffer          # mmap or bytes; arrays made from it keep it alive
        self.view = memoryview(buffer)
        self.source = source
        self.members: dict[str, MemberInfo] = {}
        self._verified: set[str] = set()
        self._parse()

    @classmethod
    def open(cls, path_or_file) -> ZipArchive:
        if isinstance(path_or_file, (str, os.PathLike)):
            path = Path(path_or_file)
            try:
                with open(path, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    buffer = (mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY) if size
                              else b"")
            except FileNotFoundError:
                raise FormatError(f"no such file: {str(path)!r}") from None
            except IsADirectoryError:
                raise FormatError(f"{str(path)!r} is a directory, not a .gt archive") from None
            return cls(buffer, str(path))
        if isinstance(path_or_file, (bytes, bytearray, memoryview)):
            return cls(bytearray(path_or_file), "<bytes>")
        data = path_or_file.read()
        if not isinstance(data, (bytes, bytearray)):
            raise FormatError("the file object must be opened in binary mode ('rb')")
        # NOTE: a writable copy, so arrays over it are writable like those over a mapping
        return cls(bytearray(data), str(getattr(path_or_file, "name", "<file>")))

    # NOTE: every structural check below exists because a damaged or hostile file reaches it.
    def _parse(self) -> None:
        v, n = self.view, len(self.view)
        if n < _EOCD.size:
            raise FormatError(f"not a .gt archive: the file is {n} bytes, too short for a zip "
                              "archive (truncated?)")
        eocd = self._find_eocd()
        (_, disk, cd_disk, n_disk, n_total, cd_size, cd_offset,
         comment_len) = _EOCD.unpack_from(v, eocd)
        if disk or cd_disk or n_disk != n_total:
            raise FormatError("multi-volume zip archives are not supported")
        if eocd + _EOCD.size + comment_len != n:
            raise FormatError("the zip end record does not end the file (truncated or appended "
                              "data)")
        if n_total > MAX_MEMBERS:
            raise FormatError(f"the archive lists {n_total} members; the limit is {MAX_MEMBERS}")
        if cd_offset + cd_size != eocd:
            raise FormatError("the zip central directory is not where the end record says "
                              "(truncated or corrupted archive)")
        pos, spans = cd_offset, []
        for _ in range(n_total):
            if pos + _CENTRAL.size > eocd:
                raise FormatError("the zip central directory is truncated")
            fields = _CENTRAL.unpack_from(v, pos)
            (sig, _, _, flags, method, _, _, crc, csize, usize, name_len, extra_len,
             comment_len, _, _, _, local) = fields
            if sig != _CENTRAL_SIG:
                raise FormatError("corrupted zip central directory (bad entry signature)")
            end = pos + _CENTRAL.size + name_len + extra_len + comment_len
            if end > eocd:
                raise FormatError("the zip central directory is truncated")
            name = self._decode_name(bytes(v[pos + _CENTRAL.size:pos + _CENTRAL.size + name_len]))
            pos = end
            check_member_name(name)
            if name in self.members:
                raise FormatError("the member appears twice in the archive", member=name)
            if flags & 0x1:
                raise FormatError("encrypted members are not supported", member=name)
            if method != 0:
                raise FormatError(f"the member is compressed (zip method {method}); members of "
                                  ".gt archives are stored uncompressed", member=name)
            if csize != usize:
                raise FormatError("stored member has different compressed and uncompressed "
                                  "sizes", member=name)
            offset = self._check_local_header(name, local, cd_offset)
            if offset + usize > cd_offset:
                raise FormatError(f"the member's data ({usize} bytes at offset {offset}) runs "
                                  "past the end of the member area (truncated archive?)",
                                  member=name)
            self.members[name] = MemberInfo(name, offset, usize, crc)
            spans.append((local, offset + usize, name))
        if pos != eocd:
            raise FormatError("unexpected bytes after the zip central directory")
        spans.sort()
        for (_, end, name), (start, _, other) in zip(spans, spans[1:]):
            if start < end:
                raise FormatError(f"the member overlaps member {other!r}", member=name)

    def _find_eocd(self) -> int:
        v, n = self.view, len(self.view)
        lo = max(0, n - _EOCD.size - 0xFFFF)
        sig = struct.pack("<I", _EOCD_SIG)
        pos = bytes(v[lo:]).rfind(sig)
        if pos < 0 or lo + pos + _EOCD.size > n:
            head = bytes(v[:4])
            if head == struct.pack("<I", _LOCAL_SIG):
                raise FormatError("the zip end record is missing (truncated archive)")
            raise FormatError("not a .gt archive: no zip end record found (not a zip file)")
        return lo + pos

    def _decode_name(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError(f"member name {raw!r} is not valid UTF-8") from None

    def _check_local_header(self, name: str, local: int, limit: int) -> int:
        if local + _LOCAL.size > limit:
            raise FormatError("the member's local header lies outside the archive", member=name)
        (sig, _, _, _, _, _, _, _, _, name_len, extra_len) = _LOCAL.unpack_from(self.view, local)
        if sig != _LOCAL_SIG:
            raise FormatError("corrupted local header (bad signature)", member=name)
        start = local + _LOCAL.size
        if start + name_len + extra_len > limit:
            raise FormatError("the member's local header runs past the member area",
                              member=name)
        if bytes(self.view[start:start + name_len]) != name.encode("utf-8"):
            raise FormatError("the local header names a different member than the central "
                              "directory", member=name)
        return start + name_len + extra_len

    # -- access --------------------------------------------------------------------------------
    def names(self) -> list[str]:
        return sorted(self.members)

    def info(self, name: str) -> MemberInfo:
        try:
            return self.members[name]
        except KeyError:
            raise FormatError("required member is missing from the archive",
                              member=name) from None

    def read(self, name: str, max_size: int | None = None) -> memoryview:
        """The member's bytes (a zero-copy view), CRC-checked on first access."""
        info = self.info(name)
        if max_size is not None and info.size > max_size:
            raise FormatError(f"the member is {info.size} bytes, above the limit of {max_size} "
                              "bytes for it", member=name)
        data = self.view[info.offset:info.offset + info.size]
        if name not in self._verified:
            if zlib.crc32(data) != info.crc:
                raise FormatError("CRC-32 mismatch: the member's bytes are corrupted",
                                  member=name)
            self._verified.add(name)
        return data
