"""The C toolchain behind compiled CPU kernels: find a compiler, build, cache on disk, load.

A kernel's C source is compiled once with the system compiler (``$CC``, else ``cc``/``gcc``)
as a shared library, with ``-O3 -march=native -ffast-math -fno-finite-math-only -fwrapv``:
fast-math lets gcc vectorize ``expf``/``sinf`` ... through glibc's libmvec and reassociate
reductions; ``-fno-finite-math-only`` keeps NaN and inf semantics (``isnan``, NaN-propagating
max/min); ``-fwrapv`` gives integer overflow PyTorch's two's-complement wrap-around. The library
is cached under ``$GT_CACHE_DIR`` (default ``~/.cache/graphtorch/kernels``) named by a hash of
source + compiler + flags, so a second process loads it without compiling.

No compiler (or ``GT_CPU_BACKEND=numpy``): :func:`available` is False and the plan runs its
numpy-chunked kernels instead; ``graphtorch env`` reports which backend is active.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from graphtorch.errors import GraphtorchError

FLAGS = ("-O3", "-march=native", "-ffast-math", "-fno-finite-math-only", "-fwrapv", "-fPIC",
         "-shared", "-std=gnu11", "-fopenmp")
_LINK_STEPS = "compile-then-link"  # part of the cache key: libraries built in one step set FTZ
_LOCK = threading.Lock()
_LIBS: dict[str, ctypes.CDLL] = {}
_STATE: dict = {}


class CompileError(GraphtorchError, RuntimeError):
    """The C compiler rejected a generated kernel (a bug in the generator: the plan falls back)."""


def compiler() -> str | None:
    """The C compiler in use, or None (none found, or ``GT_CPU_BACKEND=numpy``)."""
    if os.environ.get("GT_CPU_BACKEND", "auto") == "numpy":
        return None
    if "cc" not in _STATE:
        cc = os.environ.get("CC")
        found = shutil.which(cc) if cc else (shutil.which("cc") or shutil.which("gcc"))
        _STATE["cc"] = found
        _STATE["version"] = _version(found) if found else None
    return _STATE["cc"]


def _version(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=20)
        return out.stdout.splitlines()[0] if out.stdout else cc
    except (OSError, subprocess.SubprocessError):
        return cc


def available() -> bool:
    """Whether generated C kernels can be used."""
    return compiler() is not None


def backend_name() -> str:
    """``"c (<compiler version>)"`` or ``"numpy"``: what fused CPU kernels run as."""
    cc = compiler()
    return f"c ({_STATE['version']})" if cc else "numpy"


def cache_dir() -> Path:
    root = os.environ.get("GT_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "graphtorch")
    return Path(root) / "kernels"


def load(source: str) -> ctypes.CDLL:
    """The shared library built from ``source`` (compiled now, or found in the disk cache)."""
    path = build(source)
    lib = _LIBS.get(str(path))
    if lib is None:
        with _LOCK:
            lib = _LIBS.get(str(path))
            if lib is None:
                lib = _LIBS[str(path)] = ctypes.CDLL(str(path))
    return lib


def build(source: str, flags: tuple[str, ...] = FLAGS) -> Path:
    """The path of the shared library built from ``source`` with ``flags`` (cached on disk)."""
    cc = compiler()
    if cc is None:
        raise CompileError("no C compiler: the numpy backend is active")
    key = hashlib.sha256("\0".join([source, _STATE["version"] or cc, *flags, _LINK_STEPS]
                                    ).encode())
    path = cache_dir() / f"gt_{key.hexdigest()[:32]}.so"
    if not path.exists():
        with _LOCK:
            if not path.exists():
                _build(cc, source, path, flags)
    return path


def _build(cc: str, source: str, path: Path, flags: tuple[str, ...]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gt_cc_") as tmp:
        src = Path(tmp) / "kernel.c"
        src.write_text(source)
        objfile = Path(tmp) / "kernel.o"
        obj = Path(tmp) / "kernel.so"
        # NOTE: compile and link in two steps: gcc < 13 links crtfastmath.o into a -ffast-math
        # shared library, whose constructor sets flush-to-zero/denormals-are-zero for the whole
        # process as soon as it is loaded (numpy's float32 1e-40 would then read as 0).
        compile_flags = tuple(f for f in flags if f != "-shared")
        link_flags = tuple(f for f in flags if f in ("-shared", "-fopenmp", "-fPIC"))
        for cmd in ([cc, *compile_flags, "-c", str(src), "-o", str(objfile)],
                    [cc, *link_flags, str(objfile), "-o", str(obj), "-lm"]):
            try:
                res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            except (OSError, subprocess.SubprocessError) as e:
                raise CompileError(f"running {cc} failed: {e}") from None
            if res.returncode != 0:
                raise CompileError(f"{cc} could not compile a generated kernel:\n"
                                   f"{res.stderr[-2000:]}")
        # NOTE: rename is atomic: a concurrent process sees the whole library or none
        tmp_target = path.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(obj, tmp_target)
        os.replace(tmp_target, path)
