"""Generated kernels as real files (Triton reads kernel source with ``inspect``), loaded once.

Files live in ``$GT_CACHE_DIR`` (default ``~/.cache/graphtorch/triton``), named by the subgraph
hash and the specialization hash; ``GT_DEBUG=1`` prints each path when its kernel is loaded. A
file is written atomically and only when missing, so processes can share the directory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType


def cache_dir() -> Path:
    root = os.environ.get("GT_CACHE_DIR")
    path = Path(root) if root else Path.home() / ".cache" / "graphtorch" / "triton"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_source(stem: str, text: str) -> Path:
    path = cache_dir() / f"{stem}.py"
    try:
        if path.read_text() == text:
            return path
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{stem}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


def load_module(path: Path, jit, mode: str) -> ModuleType:
    """Import the kernel file with ``_gt_jit`` bound to ``jit`` (one module per mode)."""
    where = hashlib.sha256(str(path.parent).encode()).hexdigest()[:8]
    name = f"graphtorch_triton_kernels.{mode}.{path.stem}_{where}"
    mod = sys.modules.get(name)
    if mod is not None:
        return mod
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    mod._gt_jit = jit
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[name]
        raise
    if os.environ.get("GT_DEBUG") == "1":
        print(f"[graphtorch] Triton kernel ({mode}): {path}", file=sys.stderr)
    return mod
