"""The on-disk caches kept within a size limit: least recently used entries go first.

Compiled C kernels (``kernels/``), execution plans (``plans/``) and generated Triton sources
(``triton/``) live under one root, ``$GT_CACHE_DIR`` (default ``~/.cache/graphtorch``). Every
edit of graphtorch, compiler or flags change keys them anew, so without a bound they only grow.
``GT_CACHE_MAX_MB`` (default 2048; ``0``: no limit) bounds the three together: when a process
writes an entry and the total would pass the limit, the oldest entries by last use (a file's
access or modification time, whichever is later) are removed until it is under 80% of the limit.

Finding the total costs a walk of the directories (a fraction of a second for 100,000 files),
so it is not done at every write: the root keeps a one-line ``usage`` note (bytes, time of the
walk), a process adds what it wrote to it, and walks again -- in a background thread, beside
the compile that wrote -- when that sum passes the limit or the note is a day old (other
processes' writes are then counted too). Removing an entry is
always safe: a kernel library already loaded stays mapped, and a plan whose kernel library is
gone is built again (runtime/plan_store.py). Files written in the last minute are never removed
(another process may be finishing them). ``graphtorch cache`` shows, prunes and clears it.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

SUBDIRS = ("kernels", "plans", "triton")
DEFAULT_MAX_MB = 2048
KEEP_FRACTION = 0.8          # a prune goes down to this share of the limit
RESCAN_AFTER_S = 86400.0     # the usage note is trusted this long
YOUNG_S = 60.0               # files younger than this are never removed
_SUFFIXES = (".so", ".ref", ".plan", ".py", ".tmp")


def cache_root() -> Path:
    """The root of graphtorch's disk caches."""
    root = os.environ.get("GT_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "graphtorch"


def limit_bytes() -> int | None:
    """``GT_CACHE_MAX_MB`` in bytes (None: no limit). A value that is not a number warns and
    the default applies."""
    raw = os.environ.get("GT_CACHE_MAX_MB", "").strip()
    if not raw:
        return DEFAULT_MAX_MB << 20
    try:
        mb = float(raw)
    except ValueError:
        warnings.warn(f"GT_CACHE_MAX_MB={raw!r} is not a number of megabytes; using the "
                      f"default {DEFAULT_MAX_MB}", RuntimeWarning, stacklevel=2)
        return DEFAULT_MAX_MB << 20
    return None if mb <= 0 else int(mb * (1 << 20))


@dataclass
class Usage:
    """What the caches hold: files and bytes, in all and per subdirectory."""

    files: int = 0
    bytes: int = 0
    by_dir: dict = field(default_factory=dict)   # subdir -> [files, bytes]


def _entries(root: Path) -> list[tuple[float, int, Path, str]]:
    """(last use, size, path, subdir) of every cache file under ``root``."""
    out = []
    for sub in SUBDIRS:
        folder = root / sub
        if not folder.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(folder):
            for name in files:
                if not name.endswith(_SUFFIXES):
                    continue
                path = Path(dirpath) / name
                try:
                    st = path.stat()
                except OSError:
                    continue
                out.append((max(st.st_atime, st.st_mtime), st.st_size, path, sub))
    return out


def usage(root: Path | None = None) -> Usage:
    """Walk the caches and count them."""
    u = Usage(by_dir={sub: [0, 0] for sub in SUBDIRS})
    for _t, size, _p, sub in _entries(root or cache_root()):
        u.files += 1
        u.bytes += size
        u.by_dir[sub][0] += 1
        u.by_dir[sub][1] += size
    return u


def prune(limit: int | None = None, root: Path | None = None) -> tuple[int, int]:
    """Remove least recently used entries until the caches are under ``KEEP_FRACTION`` of
    ``limit`` (default :func:`limit_bytes`), if they are over it. Returns (files removed,
    bytes freed) and records the total in the usage note."""
    root = root or cache_root()
    limit = limit_bytes() if limit is None else limit
    entries = _entries(root)
    total = sum(e[1] for e in entries)
    removed = freed = 0
    if limit is not None and total > limit:
        goal = int(limit * KEEP_FRACTION)
        young = time.time() - YOUNG_S
        for last_use, size, path, _sub in sorted(entries, key=lambda e: e[0]):
            if total - freed <= goal:
                break
            if last_use > young:
                continue
            try:
                path.unlink()
            except OSError:
                continue
            removed += 1
            freed += size
    _write_note(root, total - freed)
    _STATE["pending"] = 0
    return removed, freed


def clear(root: Path | None = None) -> Usage:
    """Remove every cache entry; returns what was there."""
    root = root or cache_root()
    before = usage(root)
    for sub in SUBDIRS:
        shutil.rmtree(root / sub, ignore_errors=True)
    _write_note(root, 0)
    return before


# --- the usage note ---------------------------------------------------------------------------
_STATE: dict = {"pending": 0, "thread": None}
_LOCK = threading.Lock()


def _note_path(root: Path) -> Path:
    return root / "usage"


def _read_note(root: Path) -> tuple[int, float] | None:
    try:
        size, stamp = _note_path(root).read_text().split()
        return int(size), float(stamp)
    except (OSError, ValueError):
        return None


def _write_note(root: Path, size: int) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".usage.{os.getpid()}.tmp"
        tmp.write_text(f"{max(size, 0)} {time.time():.0f}\n")
        os.replace(tmp, _note_path(root))
    except OSError:
        pass


def note_write(nbytes: int) -> None:
    """A cache entry of ``nbytes`` was written: prune when the caches may be over the limit
    (see the module doc; cheap unless they may be)."""
    limit = limit_bytes()
    if limit is None:
        return
    _STATE["pending"] += max(nbytes, 0)
    root = cache_root()
    note = _read_note(root)
    if note is not None and time.time() - note[1] < RESCAN_AFTER_S and \
            note[0] + _STATE["pending"] <= limit:
        return
    with _LOCK:
        if _STATE.get("thread") is not None and _STATE["thread"].is_alive():
            return
        # NOTE: the walk runs beside the compile that triggered it, not in front of it
        worker = threading.Thread(target=_prune_quietly, args=(limit, root),
                                  name="graphtorch-cache-prune", daemon=True)
        _STATE["thread"] = worker
        worker.start()


def _prune_quietly(limit: int, root: Path) -> None:
    try:
        prune(limit, root)
    except OSError:             # an unreadable cache is not the compile's problem
        pass


def wait_for_prune(timeout: float | None = None) -> None:
    """Wait for a prune started by :func:`note_write` (tests, and before a clean exit)."""
    worker = _STATE.get("thread")
    if worker is not None:
        worker.join(timeout)
