"""Every collective on 2 MPI ranks against numpy (the script asserts each result on each rank)."""

import pytest

pytest.importorskip("mpi4py", reason="graphtorch[distributed] (mpi4py, mpich) is not installed")

from tests.distributed.launch import run_ranks, show  # noqa: E402


def test_every_collective_matches_numpy():
    run = run_ranks("collectives.py")
    assert run.returncode == 0, show(run)
    for rank in (0, 1):
        assert f"COLLECTIVES OK rank {rank} checks" in run.stdout, show(run)
    counts = [int(line.rsplit(" ", 1)[1]) for line in run.stdout.splitlines()
              if line.startswith("COLLECTIVES OK")]
    assert min(counts) > 700, counts  # every op x dtype x shape really ran


def test_mismatched_tensors_and_collectives_are_errors_on_every_rank():
    run = run_ranks("failures.py", "mismatch")
    assert run.returncode == 0, show(run)
    for rank in (0, 1):
        assert f"MISMATCH OK rank {rank}" in run.stdout, show(run)
        assert (f"rank {rank}: all_reduce: the ranks of process group 'default' do not agree"
                in run.stdout), show(run)
    assert "rank 0 calls all_reduce with a float32 tensor of shape [3]; rank 1 calls " \
           "all_reduce with a float32 tensor of shape [4]" in run.stdout, show(run)
