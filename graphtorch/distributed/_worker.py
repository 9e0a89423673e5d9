"""One rank started by ``graphtorch.distributed.run``: sets PyTorch's environment variables from
the MPI launcher's, runs the script, and on an uncaught exception records it for the launcher and
aborts the whole job (instead of leaving the other ranks waiting in a collective)."""

from __future__ import annotations

import json
import os
import runpy
import sys
import traceback
from pathlib import Path

from graphtorch.distributed import process_group

_RANK_VARS = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")
_LOCAL_VARS = ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK")


def _first(names: tuple[str, ...], default: str) -> str:
    for name in names:
        if name in os.environ:
            return os.environ[name]
    return default


def _abort(code: int) -> None:
    if process_group.WORLD.world_comm is None:
        try:
            from mpi4py import MPI  # the script never initialized: abort through MPI anyway
        except ImportError:
            os._exit(code)
        process_group.WORLD.world_comm = MPI.COMM_WORLD
    process_group.abort_job(code)


def main(argv: list[str]) -> None:
    rank = _first(_RANK_VARS, "0")
    os.environ["RANK"] = rank
    os.environ["LOCAL_RANK"] = _first(_LOCAL_VARS, rank)
    process_group.WORLD.global_rank = int(rank)
    error_dir = Path(os.environ.get("GRAPHTORCH_RUN_DIR", "."))
    (error_dir / f"pid{os.getpid()}").write_text(rank)
    as_module = argv[0] == "-m"
    target = argv[1] if as_module else argv[0]
    sys.argv = argv[1:] if as_module else list(argv)
    if not as_module:
        sys.path.insert(0, str(Path(target).resolve().parent))
    try:
        if as_module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(target, run_name="__main__")
    except SystemExit as e:
        if e.code in (None, 0):
            return
        _record(error_dir, rank, e, f"exited with status {e.code}")
        sys.stderr.write(f"graphtorch.distributed.run: rank {rank} exited with status "
                         f"{e.code}; aborting the job\n")
        _abort(e.code if isinstance(e.code, int) else 1)
    except BaseException as e:  # noqa: BLE001 - every failure of the script stops the job
        _record(error_dir, rank, e, f"{type(e).__name__}: {e}")
        process_group.report_failure(e)
        _abort(1)


def _record(error_dir: Path, rank: str, exc: BaseException, summary: str) -> None:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    (error_dir / f"error{rank}.json").write_text(json.dumps(
        {"rank": int(rank), "summary": summary, "traceback": text}))


if __name__ == "__main__":
    main(sys.argv[1:])
