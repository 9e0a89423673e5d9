"""Loading a compiled CPU kernel must not change the process's floating-point environment.

gcc < 13 links crtfastmath.o into -ffast-math shared libraries; its constructor turns on
flush-to-zero / denormals-are-zero for the whole process, silently changing eager numpy results
(and tripping hypothesis' subnormal check). The backend compiles with fast-math but links without.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from graphtorch.runtime import c_backend

needs_cc = pytest.mark.skipif(not c_backend.available(), reason="no C compiler")

_PROBE = textwrap.dedent("""
    import sys
    import numpy as np
    from graphtorch.runtime import c_backend
    tiny = np.array([1e-40], dtype=np.float32)
    assert (tiny * np.float32(1))[0] != 0, "subnormals already flushed before loading"
    lib = c_backend.load('float gt_twice(float x) { return x * 2.0f; }\\n'
                         '#include <math.h>\\n'
                         'void gt_exp(const float *x, float *y, long n) {\\n'
                         '  for (long i = 0; i < n; i++) y[i] = expf(x[i]); }\\n')
    import ctypes
    lib.gt_twice.restype = ctypes.c_float
    lib.gt_twice.argtypes = [ctypes.c_float]
    print(lib.gt_twice(1.5), (tiny * np.float32(1))[0])
""")


@needs_cc
def test_loading_a_kernel_keeps_subnormals(tmp_path):
    env = {"GT_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    twice, tiny = out.stdout.split()
    assert float(twice) == 3.0
    assert float(tiny) == pytest.approx(1e-40, rel=1e-3)

