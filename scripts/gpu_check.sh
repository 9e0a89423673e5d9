#!/usr/bin/env bash
# The one check of graphtorch's GPU path on a lent NVIDIA GPU (self-contained, offline, < 6 min).
#
#   bash scripts/gpu_check.sh            # from the repository root or anywhere
#
# Needs a Python (PYTHON=..., default python3) with numpy, triton, cupy and pytest (torch for
# the comparison rows); graphtorch is not installed: a sitecustomize maps frontend/ passes/
# runtime/ into the graphtorch namespace as pyproject.toml does. graphtorch imports lark (pure
# Python); when the device Python lacks it, carry the project's copy
# (.venv/lib/python3.*/site-packages/lark) and it is picked up.
# Steps, each under its own timeout (their sum is 6 minutes); the script goes on after a failure
# and exits non-zero when any step failed:
#   1. environment report (GPU, Python, Triton, CuPy, torch)                          20 s
#   2. torch-free launch in a fresh process (plain Python, no pytest)                  40 s
#   3. GPU tests: tests/runtime/test_triton_gpu.py (elementwise matrix, row kernels,
#      compiled plan on CUDA tensors, thin launches, CUDA graphs; pytest-xdist -n 4)  100 s
#   4. the registry matrix's cuda column (tests/ops/test_registry_cuda.py)             70 s
#      meanwhile, in the background: the CPU interpreter tests of the same kernels
#      and the sm_90 compile checks under this machine's Triton version
#      (test_triton*.py)                                                          (waited for)
#   5. benchmarks/gpu.py --strict: the issue's six targets, graphtorch vs torch eager
#      and torch.compile side by side                                                130 s
# Results are printed; with $OUT set, the benchmark JSON and the logs also land there.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
WORK=$(mktemp -d)
OUTDIR=${OUT:-$WORK}
LOG="$OUTDIR/gpu_check.log"
STATUS=0
exec > >(tee -a "$LOG") 2>&1

step() { echo; echo "=== $* ($(date +%T)) ==="; }
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
export GT_CACHE_DIR="$WORK/kernels" TRITON_CACHE_DIR="$WORK/triton" PYTHONUNBUFFERED=1
PYTEST=("$PY" -m pytest -q -p no:cacheprovider -o addopts= -rfs)

step "1. environment"
nvidia-smi -L 2>/dev/null || echo "nvidia-smi: not available"
timeout 20 "$PY" - <<'EOF' || { echo "the device Python cannot import what the check needs"; exit 2; }
import sys, importlib
print("python", sys.version.split()[0])
for name in ("numpy", "triton", "cupy", "ml_dtypes", "lark", "pytest", "xdist", "torch"):
    try:
        m = importlib.import_module(name)
        print(f"{name:9s}", getattr(m, "__version__", "?"))
    except Exception as e:
        print(f"{name:9s} missing ({type(e).__name__})")
import cupy, triton, numpy, lark, graphtorch  # noqa: E401,F401 - the required ones
print("GPU:", cupy.cuda.runtime.getDeviceProperties(0)["name"].decode())
EOF

step "2. torch-free launch (fresh process)"
timeout 40 "$PY" - <<'EOF' || fail "torch-free launch"
import sys
import test_triton_gpu as t
t.test_gpu_launch_never_imports_torch()
print("ok: kernel launched on CuPy arrays; torch not imported:", "torch" not in sys.modules)
EOF

# the CPU interpreter tests need no GPU: they run beside steps 3 and 4
timeout 150 "${PYTEST[@]}" tests/runtime/test_triton.py tests/runtime/test_triton_registry.py \
  tests/runtime/test_triton_rows.py tests/runtime/test_triton_plan.py \
  tests/runtime/test_triton_launch.py tests/runtime/test_triton_compile.py \
  > "$OUTDIR/cpu_tests.log" 2>&1 &
CPU_TESTS=$!

step "3. GPU tests (Triton backend)"
XDIST=()
"$PY" -c "import xdist" 2>/dev/null && XDIST=(-n 4)
if "$PY" -c "import pytest" 2>/dev/null; then
  timeout 100 "${PYTEST[@]}" "${XDIST[@]}" tests/runtime/test_triton_gpu.py || fail "GPU tests"
else
  timeout 100 "$PY" - <<'EOF' || fail "GPU tests (plain loop)"
import inspect, time, test_triton_gpu as t
from test_triton import lowered_ops
for name in lowered_ops():
    t.check_registry_op(name)
print(f"ok registry matrix ({len(lowered_ops())} ops)")
for name in sorted(n for n in dir(t) if n.startswith("test_")):
    fn = getattr(t, name)
    if inspect.signature(fn).parameters:
        continue   # the parametrized registry test: done above
    t0 = time.time()
    fn()
    print(f"ok {name} ({time.time() - t0:.1f} s)")
EOF
fi

step "4. registry matrix, cuda column"
[ ${#XDIST[@]} -gt 0 ] && XDIST=(-n 8)
timeout 70 "${PYTEST[@]}" "${XDIST[@]}" tests/ops/test_registry_cuda.py \
  > "$OUTDIR/cuda_column.log" 2>&1
RC=$?
tail -40 "$OUTDIR/cuda_column.log"
[ $RC = 0 ] || fail "cuda column (exit $RC; every failure in $OUTDIR/cuda_column.log)"
echo "--- CPU interpreter tests (run beside steps 3-4) ---"
wait $CPU_TESTS || fail "CPU interpreter tests"
tail -15 "$OUTDIR/cpu_tests.log"

step "5. benchmark: issue 15 targets"
timeout 130 "$PY" benchmarks/gpu.py --strict --torch-timeout 100 --json "$OUTDIR/gpu_bench.json" \
  || fail "benchmark (a target missed, or the run broke)"

echo
echo "kernels: $GT_CACHE_DIR ($(ls "$GT_CACHE_DIR" | wc -l) files); log: $LOG"
[ "$STATUS" = 0 ] && echo "gpu_check: all steps passed" || echo "gpu_check: some steps FAILED"
exit $STATUS
