"""Start test scripts on 2 MPI ranks (``mpiexec -n 2``) with a hard timeout."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "scripts"
ROOT = Path(__file__).resolve().parents[2]
HARD_TIMEOUT = 90


def mpiexec() -> str:
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else (shutil.which("mpiexec") or "mpiexec")


def run_ranks(script: str, *args: str, n: int = 2, mpi_flags: tuple = (),
              timeout: float = HARD_TIMEOUT) -> subprocess.CompletedProcess:
    """``mpiexec -n n python scripts/<script> args``; the test fails (never hangs) past timeout."""
    cmd = [mpiexec(), *mpi_flags, "-n", str(n), sys.executable, str(SCRIPTS / script), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def run_launcher(script: str, *args: str, n: int = 2,
                 timeout: float = HARD_TIMEOUT) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "graphtorch.distributed.run", "--nproc-per-node", str(n),
           str(SCRIPTS / script), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def show(run: subprocess.CompletedProcess) -> str:
    return f"rc={run.returncode}\nstdout:\n{run.stdout[-4000:]}\nstderr:\n{run.stderr[-4000:]}"
