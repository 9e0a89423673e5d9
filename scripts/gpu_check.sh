#!/usr/bin/env bash
# One prepared check of the Triton backend on a lent NVIDIA GPU (self-contained, offline).
#
#   bash scripts/gpu_check.sh            # from the repository root or anywhere
#
# Needs a Python (PYTHON=..., default python3) with numpy, triton and cupy; graphtorch is not
# installed: a sitecustomize maps frontend/ passes/ runtime/ into the graphtorch namespace as
# pyproject.toml does. graphtorch imports lark (pure Python); when the device Python lacks it,
# carry the project's copy (.venv/lib/python3.11/site-packages/lark) and it is picked up.
# Steps (each under its own timeout; the script goes on after a failure and exits non-zero):
#   1. environment report (GPU, Python, Triton, CuPy, torch)
#   2. torch-free launch check in a fresh process (plain Python, no pytest)
#   3. GPU tests (tests/runtime/test_triton_gpu.py) and the CPU interpreter tests of the same
#      kernels under this machine's Triton version (pytest when present, else a plain loop)
#   4. bandwidth benchmark: fused 4-op chain vs CuPy eager vs torch eager
# Results are printed; with $OUT set, the benchmark JSON and a log also land there.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
WORK=$(mktemp -d)
OUTDIR=${OUT:-$WORK}
LOG="$OUTDIR/gpu_check.log"
STATUS=0
exec > >(tee -a "$LOG") 2>&1

step() { echo; echo "=== $* ==="; }
fail() { echo "FAILED: $*"; STATUS=1; }

# --- bootstrap: graphtorch from the source tree, kernels in a fresh cache ----------------------
mkdir -p "$WORK/boot" "$WORK/kernels"
cat > "$WORK/boot/sitecustomize.py" <<EOF
import importlib.util, sys
_ROOT = "$ROOT"
_MAP = {"graphtorch.frontend": _ROOT + "/frontend", "graphtorch.passes": _ROOT + "/passes",
        "graphtorch.runtime": _ROOT + "/runtime"}
class _GraphtorchLayout:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name in _MAP:
            return importlib.util.spec_from_file_location(
                name, _MAP[name] + "/__init__.py", submodule_search_locations=[_MAP[name]])
        return None
sys.meta_path.insert(0, _GraphtorchLayout)
EOF
LARK=$(ls -d "$ROOT"/.venv/lib/python3*/site-packages/lark 2>/dev/null | head -1)
if ! "$PY" -c "import lark" 2>/dev/null && [ -n "$LARK" ]; then
  ln -s "$LARK" "$WORK/boot/lark"
fi
export PYTHONPATH="$WORK/boot:$ROOT:$ROOT/tests/runtime${PYTHONPATH:+:$PYTHONPATH}"
export GT_CACHE_DIR="$WORK/kernels"

step "1. environment"
nvidia-smi -L 2>/dev/null || echo "nvidia-smi: not available"
"$PY" - <<'EOF' || { echo "the device Python cannot import what the check needs"; exit 2; }
import sys, importlib
print("python", sys.version.split()[0])
for name in ("numpy", "triton", "cupy", "lark", "pytest", "torch"):
    try:
        m = importlib.import_module(name)
        print(f"{name:8s}", getattr(m, "__version__", "?"))
    except Exception as e:
        print(f"{name:8s} missing ({type(e).__name__})")
import cupy, triton, numpy, lark, graphtorch  # noqa: E401,F401 - the required ones
print("GPU:", cupy.cuda.runtime.getDeviceProperties(0)["name"].decode())
EOF

step "2. torch-free launch (fresh process)"
timeout 300 "$PY" - <<'EOF' || fail "torch-free launch"
import sys
import test_triton_gpu as t
t.test_gpu_launch_never_imports_torch()
print("ok: kernel launched on CuPy arrays; torch not imported:", "torch" not in sys.modules)
EOF

step "3. tests"
if "$PY" -c "import pytest" 2>/dev/null; then
  timeout 540 "$PY" -m pytest -q -p no:cacheprovider -x \
    tests/runtime/test_triton_gpu.py tests/runtime/test_triton.py \
    tests/runtime/test_triton_registry.py || fail "pytest"
else
  timeout 540 "$PY" - <<'EOF' || fail "GPU tests (plain loop)"
import time, test_triton_gpu as t
for name in sorted(n for n in dir(t) if n.startswith("test_")):
    t0 = time.time()
    getattr(t, name)()
    print(f"ok {name} ({time.time() - t0:.1f} s)")
EOF
fi

step "4. benchmark: fused 4-op chain (float32, 2**25 elements)"
timeout 300 "$PY" benchmarks/triton_fused.py --n $((1 << 25)) --iters 50 \
  | tee "$OUTDIR/triton_fused.json" || fail "benchmark"

echo
echo "kernels: $GT_CACHE_DIR ($(ls "$GT_CACHE_DIR" | wc -l) files); log: $LOG"
[ "$STATUS" = 0 ] && echo "gpu_check: all steps passed" || echo "gpu_check: some steps FAILED"
exit $STATUS
