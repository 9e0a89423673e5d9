"""``python -m graphtorch.distributed.run --nproc-per-node N train.py [args]``: a torchrun-like
launcher on top of ``mpiexec``.

Every rank gets RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT.
SIGINT/SIGTERM/SIGHUP are forwarded to the job. When a rank fails (an uncaught exception, a
non-zero exit, a signal), the whole job stops and the launcher names the rank and its error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from graphtorch.errors import DistributedError

_BAD_PID = re.compile(r"PID (\d+) RUNNING AT")
_EXIT_STRING = re.compile(r"EXIT STRING: (.+)")


def find_mpiexec() -> str:
    """``mpiexec`` next to this Python (a venv with the mpich wheel) or on PATH."""
    here = Path(sys.executable).parent / "mpiexec"
    if here.exists():
        return str(here)
    found = shutil.which("mpiexec")
    if found is None:
        raise DistributedError("graphtorch.distributed.run needs mpiexec: "
                               "pip install 'graphtorch[distributed]' (mpi4py and mpich)")
    return found


def _mpiexec_flags(mpiexec: str) -> list[str]:
    try:
        version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    if "Open MPI" in version or "OpenRTE" in version:
        flags = ["--oversubscribe"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            flags.append("--allow-run-as-root")
        return flags
    return []


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m graphtorch.distributed.run",
                                description="Start N ranks of a training script under MPI.")
    p.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1, dest="nproc")
    p.add_argument("--nnodes", type=int, default=1)
    p.add_argument("--node-rank", "--node_rank", type=int, default=0)
    p.add_argument("--master-addr", "--master_addr", default="127.0.0.1")
    p.add_argument("--master-port", "--master_port", type=int, default=29500)
    p.add_argument("--standalone", action="store_true")
    p.add_argument("-m", "--module", action="store_true", help="run the target as a module")
    p.add_argument("script")
    p.add_argument("script_args", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.nnodes != 1:
        p.error("--nnodes > 1: start multi-node jobs with mpiexec and a host file")
    if args.nproc < 1:
        p.error("--nproc-per-node must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        mpiexec = find_mpiexec()
    except DistributedError as e:
        sys.stderr.write(f"graphtorch.distributed.run: {e}\n")
        return 2
    with tempfile.TemporaryDirectory(prefix="graphtorch-run-") as run_dir:
        env = dict(os.environ, WORLD_SIZE=str(args.nproc), LOCAL_WORLD_SIZE=str(args.nproc),
                   MASTER_ADDR=args.master_addr, MASTER_PORT=str(args.master_port),
                   GROUP_RANK="0", GRAPHTORCH_RUN_DIR=run_dir)
        target = ["-m", args.script] if args.module else [args.script]
        cmd = [mpiexec, *_mpiexec_flags(mpiexec), "-n", str(args.nproc), sys.executable, "-m",
               "graphtorch.distributed._worker", *target, *args.script_args]
        return _supervise(cmd, env, Path(run_dir))


def _supervise(cmd: list[str], env: dict, run_dir: Path) -> int:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, bufsize=1)
    mpi_lines: list[str] = []

    def pump(stream, sink) -> None:
        # mpiexec reports a dead rank on stdout: keep its lines to name the rank afterwards
        for line in stream:
            sink.write(line)
            sink.flush()
            if "=" in line or "EXIT STRING" in line:
                mpi_lines.append(line)

    readers = [threading.Thread(target=pump, args=(proc.stdout, sys.stdout), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, sys.stderr), daemon=True)]
    for reader in readers:
        reader.start()
    forwarded = []

    def forward(signum, frame) -> None:
        forwarded.append(signum)
        proc.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM,
                                                       signal.SIGHUP)}
    try:
        rc = proc.wait()
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    for reader in readers:
        reader.join(timeout=5)
    sys.stdout.flush()
    sys.stderr.flush()
    if rc == 0:
        return 0
    for message in failure_messages(run_dir, mpi_lines, rc, forwarded):
        sys.stderr.write(f"graphtorch.distributed.run: {message}\n")
    return rc if rc > 0 else 1


def failure_messages(run_dir: Path, mpi_lines: list[str], rc: int, forwarded: list) -> list[str]:
    """Who failed and why, from the ranks' error records and mpiexec's report."""
    out = []
    for path in sorted(run_dir.glob("error*.json")):
        record = json.loads(path.read_text())
        out.append(f"rank {int(record['rank'])} failed: {record['summary']}")
    if out:
        return out
    pids = {p.name[3:]: p.read_text() for p in run_dir.glob("pid*")}
    text = "".join(mpi_lines)
    why = _EXIT_STRING.search(text)
    for pid in _BAD_PID.findall(text):
        rank = pids.get(pid, "?")
        out.append(f"rank {rank} (pid {pid}) died: "
                   f"{why.group(1).strip() if why else 'terminated abnormally'}")
    if forwarded:
        out.append(f"the job was stopped by signal {forwarded[0]} (forwarded to every rank)")
    if not out:
        out.append(f"the job failed with exit status {rc}")
    return out


if __name__ == "__main__":
    sys.exit(main())
