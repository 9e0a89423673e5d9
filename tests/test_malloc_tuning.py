"""graphtorch/malloc_tuning.py: glibc keeps freed heap memory, so repeated steps of mid-sized
arrays stop faulting their pages in again (checked in fresh interpreters)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

glibc_linux = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="M_TOP_PAD is glibc's")

# a "step": arrays of 0.2-3 MiB allocated, touched and freed in a varying order, many times
STEPS = """
import resource, numpy as np, graphtorch
from graphtorch.malloc_tuning import _APPLIED
sizes = [50_000, 300_000, 700_000, 120_000, 400_000, 90_000]
def step():
    keep = [np.ones(n, np.float32) for n in sizes]
    for i in range(0, len(keep), 2):
        keep[i] = None
    more = [np.ones(n // 2, np.float32) for n in sizes]
    return len(more)
for _ in range(5):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    step()
print(_APPLIED[0], (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 50)
"""


def _run(env_value: str | None) -> tuple[int, float]:
    env = dict(os.environ)
    env.pop("GT_MALLOC_TOP_PAD", None)
    if env_value is not None:
        env["GT_MALLOC_TOP_PAD"] = env_value
    out = subprocess.run([sys.executable, "-c", STEPS], env=env, capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    return int(out[0]), float(out[1])


@glibc_linux
def test_import_sets_the_pad_and_steps_stop_faulting():
    pad, faults = _run(None)
    assert pad == 64 << 20
    off_pad, off_faults = _run("0")
    assert off_pad == 0
    assert faults < 1 and faults < off_faults


@glibc_linux
def test_the_pad_is_configurable():
    assert _run(str(8 << 20))[0] == 8 << 20
    assert _run("not-a-number")[0] == 0
