"""Replacing a file atomically: readers see the old file or the new one, never a part.

The bytes go to a temporary file in the target's directory (same file system, so the rename is
atomic), are ``fsync``-ed, and the temporary file is renamed over the target with
``os.replace``; the directory is ``fsync``-ed after the rename so that the rename itself
survives a power loss. On overwrite the new file keeps the old one's permission bits.

Temporary files are named ``.<target name>.gt-tmp-<pid>.<host>.<random>``. One left behind by a
process that died mid-save (SIGKILL, power loss) is removed by the next save into that
directory, once its process is known to be gone: same host tag, and no process with that pid.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import secrets
import socket
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from graphtorch.errors import SaveError

TEMP_MARK = ".gt-tmp-"
_HOST = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]
_TEMP_NAME = re.compile(r"\..+\.gt-tmp-(?P<pid>\d+)\.(?P<host>[0-9a-f]{8})\.[0-9a-f]{8}")


def temp_name(target: str) -> str:
    """The name of a temporary file for ``target`` (a file name, no directory)."""
    # NOTE: the name is cut so that the temporary name stays within NAME_MAX (255 bytes)
    stem = target.encode("utf-8", "surrogateescape")[:180].decode("utf-8", "ignore") or "x"
    return f".{stem}{TEMP_MARK}{os.getpid()}.{_HOST}.{secrets.token_hex(4)}"


def replace_file(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` on a temporary file and rename it over ``path``; return the path written.

    A symbolic link at ``path`` is followed (the file it names is replaced, the link stays).
    A device or pipe (``/dev/null``, ``/dev/stdout``) is written in place: there is nothing to
    replace, and renaming over it would remove it. Any failure leaves ``path`` as it was,
    removes the temporary file, and raises :class:`SaveError` (an OSError) naming ``path``;
    exceptions of ``write`` other than OSError propagate unchanged after the clean-up.
    """
    target = Path(path)
    existing = _stat(target)           # follows links: the type of what is finally there
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise SaveError(errno.EISDIR, "cannot save: the target is a directory; name a file "
                                      "inside it", str(target))
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        return _write_in_place(target, write)
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    directory = target.parent
    if not directory.is_dir():
        raise SaveError(errno.ENOENT, "cannot save: the target's directory does not exist",
                        str(target))
    remove_stale_temps(directory)
    mode = stat.S_IMODE(existing.st_mode) if existing is not None else None
    tmp = directory / temp_name(target.name)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)   # the umask applies, as for any new file
    except OSError as e:
        raise _save_error(e, target) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as e:
        _remove_quietly(tmp)
        if isinstance(e, OSError) and not isinstance(e, SaveError):
            raise _save_error(e, target) from e
        raise
    _fsync_directory(directory)
    return target


def remove_stale_temps(directory: Path) -> list[Path]:
    """Remove temporary files of saves whose process died (this host only); return them."""
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        if TEMP_MARK not in name:
            continue
        m = _TEMP_NAME.fullmatch(name)
        if m is None or m["host"] != _HOST or _process_alive(int(m["pid"])):
            continue
        if _remove_quietly(directory / name):
            removed.append(directory / name)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True       # a save of this process, maybe in another thread
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True       # alive, another user's
    except (OSError, OverflowError):
        return True       # cannot tell: keep the file
    return True


def _stat(target: Path) -> os.stat_result | None:
    try:
        return os.stat(target)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise _save_error(e, target) from None


def _write_in_place(target: Path, write: Callable[[BinaryIO], None]) -> Path:
    buffer = io.BytesIO()        # NOTE: writers may seek (zipfile); pipes cannot
    write(buffer)
    try:
        with open(target, "wb") as f:
            f.write(buffer.getbuffer())
    except OSError as e:
        if isinstance(e, SaveError):
            raise
        raise _save_error(e, target) from e
    return target


def _save_error(e: OSError, target: Path) -> SaveError:
    why = e.strerror or str(e)
    return SaveError(e.errno or 0, f"cannot save: {why}", str(target))


def _remove_quietly(path: Path) -> bool:
    try:
        os.unlink(path)
    except OSError:
        return False
    return True


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return            # NOTE: not every platform opens directories (Windows)
    try:
        os.fsync(fd)
    except OSError:
        pass              # some file systems refuse fsync on directories; the rename stands
    finally:
        os.close(fd)
