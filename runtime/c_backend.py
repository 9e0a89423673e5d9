"""The C toolchain behind compiled CPU kernels: find a compiler, build, cache on disk, load.

A kernel's C source is compiled once with the system compiler (``$CC``, else ``cc``/``gcc``)
as a shared library, with ``-O2 -fvect-cost-model=dynamic -march=native -ffast-math
-fno-finite-math-only -fwrapv``: fast-math lets gcc vectorize ``expf``/``sinf`` ... through
glibc's libmvec and reassociate reductions (``-O2`` with ``-O3``'s vectorizer cost model:
kernels measured as fast as at ``-O3``, a batch compiles in 0.7x the time; gcc 12's plain
``-O2`` leaves libmvec loops scalar, 20x slower); ``-fno-finite-math-only`` keeps NaN and inf
semantics (``isnan``, NaN-propagating max/min); ``-fwrapv`` gives integer overflow PyTorch's
two's-complement wrap-around. The library is cached under ``$GT_CACHE_DIR`` (default
``~/.cache/graphtorch/kernels``) named by a hash of
source + compiler + flags, so a second process loads it without compiling.

No compiler (or ``GT_CPU_BACKEND=numpy``): :func:`available` is False and the plan runs its
numpy-chunked kernels instead; ``graphtorch env`` reports which backend is active.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from graphtorch.errors import GraphtorchError
from graphtorch.runtime import disk_cache

FLAGS = ("-O2", "-fvect-cost-model=dynamic", "-march=native", "-ffast-math",
         "-fno-finite-math-only", "-fwrapv", "-fPIC", "-shared", "-std=gnu11", "-fopenmp")
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
    return disk_cache.cache_root() / "kernels"


def load(source: str):
    """The shared library built from ``source`` (compiled now, or found in the disk cache); a
    source compiled by :func:`load_many` is one member of a shared library (``kernel`` names
    its renamed function there)."""
    cc = compiler()
    if cc is None:
        raise CompileError("no C compiler: the numpy backend is active")
    path = _path(cc, source, FLAGS)
    if not path.exists():
        member = _member(path)
        if member is not None:
            return member
    try:
        return _cdll(build(source))
    except OSError:
        # NOTE: removed between the check and the load (a cache prune, runtime/disk_cache.py,
        # perhaps in another process): build it again
        path.unlink(missing_ok=True)
        return _cdll(build(source))


def _cdll(path: Path) -> ctypes.CDLL:
    lib = _LIBS.get(str(path))
    if lib is None:
        with _LOCK:
            lib = _LIBS.get(str(path))
            if lib is None:
                lib = _LIBS[str(path)] = ctypes.CDLL(str(path))
    return lib


class _Member:
    """One kernel of a batch library: ``kernel`` is its renamed function."""

    def __init__(self, lib: ctypes.CDLL, symbol: str):
        self._lib, self._symbol = lib, symbol

    def __getattr__(self, name: str):
        return getattr(self._lib, self._symbol if name == "kernel" else name)


def _member(path: Path) -> _Member | None:
    ref = path.with_suffix(".ref")
    try:
        lib_name, symbol = ref.read_text().split()
    except (OSError, ValueError):
        return None
    lib_path = cache_dir() / lib_name
    if not lib_path.exists():
        return None
    try:
        return _Member(_cdll(lib_path), symbol)
    except OSError:             # removed meanwhile (runtime/disk_cache.py): compiled again
        return None


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def locate(address: int) -> tuple[str, str] | None:
    """(library file name in the cache directory, exported symbol) of a kernel address, or
    None (not a cached kernel's symbol): how a cached plan names its kernels on disk."""
    try:
        dladdr = ctypes.CDLL(None).dladdr
    except (OSError, AttributeError):
        return None
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    info = _DlInfo()
    if not dladdr(ctypes.c_void_p(address), ctypes.byref(info)) or not info.dli_sname or \
            info.dli_saddr != address:
        return None
    path = Path(os.fsdecode(info.dli_fname))
    if path.parent.resolve() != cache_dir().resolve():
        return None
    return path.name, info.dli_sname.decode()


def symbol_address(lib_name: str, symbol: str) -> int | None:
    """The address of ``symbol`` in the cached library ``lib_name`` (a bare file name in the
    cache directory), or None when the library or symbol is gone."""
    if "/" in lib_name or "\\" in lib_name or not lib_name.endswith(".so"):
        return None
    path = cache_dir() / lib_name
    if not path.exists():
        return None
    try:
        fn = getattr(_cdll(path), symbol)
    except (OSError, AttributeError):
        return None
    return ctypes.cast(fn, ctypes.c_void_p).value


def _path(cc: str, source: str, flags: tuple[str, ...]) -> Path:
    key = hashlib.sha256("\0".join([source, _STATE["version"] or cc, *flags, _LINK_STEPS]
                                    ).encode())
    return cache_dir() / f"gt_{key.hexdigest()[:32]}.so"


def load_many(sources: list[str], jobs: int = 2, prelude: str = "") -> int:
    """Compile the kernels among ``sources`` (each defining ``kernel``) that the disk cache
    lacks in one go: ``jobs`` translation units, each kernel's functions renamed, one link into
    one shared library; :func:`load` then finds each there. Sources that start with
    ``prelude`` share one copy of it per unit (headers parsed once, not once per kernel).
    Returns how many were compiled; on any failure nothing is recorded (each :func:`load`
    then compiles its own)."""
    cc = compiler()
    if cc is None:
        return 0
    todo = {}
    for src in sources:
        path = _path(cc, src, FLAGS)
        if not path.exists() and not path.with_suffix(".ref").exists():
            todo[path] = src
    if len(todo) < 2:
        return 0
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    batch = hashlib.sha256("".join(p.name for p in todo).encode()).hexdigest()[:32]
    lib_path = cache / f"gt_batch_{batch}.so"
    compile_flags = tuple(f for f in FLAGS if f != "-shared")
    link_flags = tuple(f for f in FLAGS if f in ("-shared", "-fopenmp", "-fPIC"))
    with tempfile.TemporaryDirectory(prefix="gt_cc_") as tmp:
        parts = _shared_bodies(todo, prelude)
        units: list[list[str]] = [[] for _ in range(max(1, min(jobs, len(parts))))]
        for i, part in enumerate(parts):
            units[i % len(units)].append(part)
        files = []
        for i, parts in enumerate(units):
            f = Path(tmp) / f"unit{i}.c"
            f.write_text(prelude + "\n".join(parts))
            files.append(f)
        objs = [str(f.with_suffix(".o")) for f in files]
        out = Path(tmp) / "batch.so"
        try:
            procs = [subprocess.Popen([cc, *compile_flags, "-c", str(f)], cwd=tmp,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for f in files]
            if [p.wait(timeout=600) for p in procs] != [0] * len(procs):
                return 0
            res = subprocess.run([cc, *link_flags, *objs, "-o", str(out), "-lm"],
                                 capture_output=True, timeout=600)
        except (OSError, subprocess.SubprocessError):
            return 0
        if res.returncode != 0:
            return 0
        tmp_target = lib_path.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(out, tmp_target)
        os.replace(tmp_target, lib_path)
        disk_cache.note_write(lib_path.stat().st_size)
    for path in todo:
        ref_tmp = path.with_suffix(f".ref.{os.getpid()}.tmp")
        ref_tmp.write_text(f"{lib_path.name} {path.stem}_kernel\n")
        os.replace(ref_tmp, path.with_suffix(".ref"))
    return len(todo)


_DEFINED = re.compile(r"^[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\([^;{]*\)\s*\{", re.M)

# A value literal of a generated kernel: a cast number (``((float)0.5)``, ``((double)70LL)``)
# in an arithmetic or comparison operand position, never a function argument or a divisor
# (gcc folds ``x / 2.0`` into a product and ``powf(x, 2.0)`` into ``x * x`` only for literals).
_LITERAL = re.compile(r"(?<=[-+*<>=?:] )\(\((float|double)\)(-?\d+\.\d*(?:e[-+]?\d+)?|"
                      r"-?\d+e[-+]?\d+|-?\d+LL|NAN|INFINITY|\(-INFINITY\))\)")
_KERNEL_HEAD = "void kernel(void *const *P, const int64_t *I, const double *D) {"


# A batch of at least this many kernels (a big graph) compiles kernels that differ only in their
# value literals once (:func:`_shared_bodies`): 71 blocks of the compile-table graph become 11
# bodies, 1.2 -> 0.3 s of compiler CPU. A shared body reloads its constants from memory around
# vector math calls: measured 5% slower per call than the kernel with literals.
SHARE_MIN_BATCH = 8


def _shared_bodies(todo: dict, prelude: str) -> list[str]:
    """The batch's unit parts: each kernel renamed (:func:`_renamed`), except that in a big batch
    (``SHARE_MIN_BATCH``) kernels differing only in their value literals (repeated blocks: the
    same chain with other constants) share one compiled body, which reads the literals from the
    doubles argument after the kernel's own, and each keeps its symbol as a trampoline
    appending its literals. Kernels not shaped as expected compile as they are."""
    classes: dict[str, list] = {}
    alone = []
    for path, src in todo.items():
        body = src[len(prelude):] if prelude and src.startswith(prelude) and \
            len(todo) >= SHARE_MIN_BATCH else None
        canon = _canonical(body) if body is not None else None
        if canon is None:
            alone.append(_renamed(src, path.stem, prelude))
        else:
            classes.setdefault(canon[0], []).append((path, src, canon[1], canon[2]))
    parts = list(alone)
    for text, members in classes.items():
        if len(members) < 2:
            parts += [_renamed(src, path.stem, prelude) for path, src, _, _ in members]
            continue
        stem = "gt_s" + hashlib.sha256(text.encode()).hexdigest()[:31]
        parts.append(_renamed(prelude + text, stem, prelude))
        for path, _, base, values in members:
            consts = "".join(f"d[{base + i}] = {v}; " for i, v in enumerate(values))
            parts.append(
                f"void {stem}_kernel(void *const *P, const int64_t *I, const double *D);\n"
                f"void {path.stem}_kernel(void *const *P, const int64_t *I, const double *D) {{\n"
                f"  double d[{base + len(values)}];\n"
                f"  for (int i = 0; i < {base}; i++) d[i] = D[i];\n"
                f"  {consts}{stem}_kernel(P, I, d);\n}}\n")
    return parts


def _canonical(body: str) -> tuple[str, int, list[str]] | None:
    """(the body with its value literals read from ``GT_K``, how many doubles the kernel reads
    itself, the literals as exact C double constants), or None (no literal, or not the shape
    of an elementwise kernel: one ``rows`` helper called by ``kernel``)."""
    values = []

    def take(m) -> str:
        values.append(_c_double(m.group(2)))
        return f"(({m.group(1)})GT_K[{len(values) - 1}])"

    if body.count("static void rows(") != 1 or body.count(_KERNEL_HEAD) != 1 or \
            "GT_K" in body:
        return None
    text = _LITERAL.sub(take, body)
    if not values or any(v is None for v in values):
        return None
    base = max((int(i) + 1 for i in re.findall(r"\bD\[(\d+)\]", body)), default=0)
    text = re.sub(r"\brows\(", "rows(GT_K, ", text)
    text = text.replace("static void rows(GT_K, ", "static void rows(const double *restrict GT_K, ")
    text = text.replace(_KERNEL_HEAD, f"{_KERNEL_HEAD}\n  const double *GT_K = D + {base};")
    return text, base, values


def _c_double(literal: str) -> str | None:
    """A C constant of exactly the double value ``literal`` denotes (hexadecimal), or None."""
    if literal in ("NAN", "INFINITY", "(-INFINITY)"):
        return literal
    try:
        v = float(int(literal[:-2])) if literal.endswith("LL") else float(literal)
    except ValueError:
        return None
    if literal.endswith("LL") and abs(int(literal[:-2])) > 2 ** 53:
        return None
    return v.hex()


_C_WORDS = frozenset({"if", "for", "while", "switch", "return", "sizeof", "do", "else"})


def _renamed(src: str, stem: str, prelude: str) -> str:
    """``src`` as one member of a batch unit: its functions renamed (``kernel`` to
    ``<stem>_kernel``), the shared prelude cut off; a source without the prelude keeps its
    own text inside a block of its own names (it may not redefine the prelude's)."""
    body = src[len(prelude):] if prelude and src.startswith(prelude) else src
    names = dict.fromkeys(n for n in _DEFINED.findall(body) if n not in _C_WORDS)
    defs = "".join(f"#define {n} {stem}_{n}\n" for n in names)
    undefs = "".join(f"#undef {n}\n" for n in names)
    return f"{defs}{body}\n{undefs}"


def build(source: str, flags: tuple[str, ...] = FLAGS) -> Path:
    """The path of the shared library built from ``source`` with ``flags`` (cached on disk)."""
    cc = compiler()
    if cc is None:
        raise CompileError("no C compiler: the numpy backend is active")
    path = _path(cc, source, flags)
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
    disk_cache.note_write(path.stat().st_size)
