"""DistributedDataParallel on 2 MPI ranks equals single-process training on the whole batch."""

import re
import subprocess
import sys

import pytest

pytest.importorskip("mpi4py", reason="graphtorch[distributed] (mpi4py, mpich) is not installed")

from tests.distributed.launch import ROOT, mpiexec, run_launcher, run_ranks, show  # noqa: E402


def test_ddp_mlp_cnn_scripted_no_sync_unused_buckets(tmp_path):
    # the script compares parameters after 20 steps with a single-process reference (MLP, CNN,
    # scripted and traced MLP), checks bucket launch order, no_sync, find_unused_parameters and
    # a rank-0 checkpoint; it raises on any mismatch
    run = run_ranks("ddp.py", str(tmp_path / "ckpt.gt"))
    assert run.returncode == 0, show(run)
    assert "DDP OK rank 0" in run.stdout and "DDP OK rank 1" in run.stdout, show(run)


def _losses(stdout: str) -> list[float]:
    return [float(v) for v in re.findall(r"epoch \d+ loss ([\d.]+)", stdout)]


def test_tutorial_pattern_converges_like_one_process(tmp_path):
    script = str(ROOT / "examples" / "ddp_tutorial.py")
    two = subprocess.run([mpiexec(), "-n", "2", sys.executable, script, "--checkpoint",
                          str(tmp_path / "two.gt")], capture_output=True, text=True, timeout=90)
    assert two.returncode == 0, show(two)
    one = subprocess.run([sys.executable, script, "--batch-size", "32", "--checkpoint",
                          str(tmp_path / "one.gt")], capture_output=True, text=True, timeout=90)
    assert one.returncode == 0, show(one)
    initial = float(re.search(r"initial loss ([\d.]+)", two.stdout).group(1))
    l2, l1 = _losses(two.stdout), _losses(one.stdout)
    assert len(l2) == len(l1) == 5
    assert l2[-1] < 0.2 * initial, l2
    # 2 ranks x 16 samples cover exactly the 32 samples of the single process's batch
    assert l2 == pytest.approx(l1, abs=2e-3), (l2, l1)
    for rank in (0, 1):
        assert f"rank {rank} loaded the checkpoint" in two.stdout, show(two)


def test_launcher_sets_torchrun_environment():
    run = run_launcher("env_report.py")
    assert run.returncode == 0, show(run)
    for rank in (0, 1):
        assert f"RANK={rank} LOCAL_RANK={rank} WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 " \
               f"dist_rank={rank} sum=3.0" in run.stdout, show(run)
