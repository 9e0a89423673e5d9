"""A rank raising, a rank killed, a rank that never joins: the job ends with a message naming
the rank and the error, never a hang (every run has a hard subprocess timeout)."""

import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("mpi4py", reason="graphtorch[distributed] (mpi4py, mpich) is not installed")

from tests.distributed.launch import ROOT, SCRIPTS, run_launcher, run_ranks, show  # noqa: E402


def test_raising_rank_aborts_the_job_under_mpiexec():
    run = run_ranks("failures.py", "raise", timeout=60)
    assert run.returncode != 0, show(run)
    assert "graphtorch.distributed: rank 1 failed with ValueError: rank one gives up; " \
           "aborting the job" in run.stderr, show(run)
    assert "[rank 1] ValueError: rank one gives up" in run.stderr
    assert "rank 0 finished" not in run.stdout


def test_killed_rank_ends_the_job():
    run = run_ranks("failures.py", "kill", timeout=60)
    assert run.returncode != 0, show(run)
    assert "Killed (signal 9)" in run.stdout + run.stderr, show(run)
    assert "finished" not in run.stdout


def test_rank_that_never_joins_times_out():
    run = run_ranks("failures.py", "hang", timeout=60)
    assert run.returncode != 0, show(run)
    assert "rank 0 failed with DistributedTimeoutError" in run.stderr, show(run)
    assert "did not complete within the timeout of 3 s: a peer rank did not take part" \
        in run.stderr


def test_peer_skipping_ddp_backward_times_out_instead_of_hanging():
    run = run_ranks("failures.py", "ddp_skew", timeout=60)
    assert run.returncode != 0, show(run)
    bucket = ("rank 0 failed with DistributedTimeoutError: DistributedDataParallel gradient "
              "bucket 0 did not complete within the timeout of 3 s")
    collective = ("rank 1 failed with DistributedTimeoutError: rank 1: all_reduce (waiting for "
                  "every rank of 'default' to reach it) did not complete within the timeout of 3 s")
    # whichever rank's deadline passes first aborts the job; the other may not get to report
    assert bucket in run.stderr or collective in run.stderr, show(run)
    assert "finished" not in run.stdout


def test_launcher_names_the_failing_rank():
    run = run_launcher("failures.py", "raise", timeout=60)
    assert run.returncode != 0, show(run)
    assert "graphtorch.distributed.run: rank 1 failed: ValueError: rank one gives up" \
        in run.stderr, show(run)


def test_launcher_names_the_killed_rank():
    run = run_launcher("failures.py", "kill", timeout=60)
    assert run.returncode != 0, show(run)
    assert "graphtorch.distributed.run: rank 1 (pid" in run.stderr, show(run)
    assert "died: Killed (signal 9)" in run.stderr


def test_launcher_forwards_sigterm():
    cmd = [sys.executable, "-m", "graphtorch.distributed.run", "--nproc-per-node", "2",
           str(SCRIPTS / "sleeper.py")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)
    line = proc.stdout.readline()  # both ranks are up once rank 0 reports
    assert "sleeping" in line, line
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode != 0
    assert "stopped by signal 15" in err or "signal 15" in err, err[-2000:]
    assert "woke up" not in out
