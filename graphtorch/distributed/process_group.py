"""Process groups: ``init_process_group`` over the MPI world, ``new_group``, rank queries.

Processes are started by an MPI launcher (``mpiexec -n N`` or ``python -m graphtorch.distributed.run
--nproc-per-node N``, which delegates to ``mpiexec``); the MPI world is the default group. The
``"nccl"`` backend bootstraps its communicator over that world.
"""

from __future__ import annotations

import atexit
import datetime
import os
import sys
import time
import traceback
from dataclasses import dataclass, field

from graphtorch.errors import DistributedError

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)
_BACKEND_ALIASES = {"mpi": "mpi", "gloo": "mpi", "nccl": "nccl"}


class Backend:
    """Backend names as PyTorch spells them (``gloo`` runs on the MPI engine)."""

    MPI = "mpi"
    GLOO = "gloo"
    NCCL = "nccl"


class ProcessGroup:
    """A set of ranks and the engine that runs their collectives.

    ``ranks`` are global ranks; collectives address peers by global rank (as PyTorch) and the group
    translates them.
    """

    def __init__(self, engine, ranks: tuple[int, ...], backend: str, timeout_s: float,
                 name: str, host_engine=None):
        self.engine = engine
        self.host_engine = host_engine if host_engine is not None else engine
        self.ranks = ranks
        self.backend_name = backend
        self.timeout_s = timeout_s
        self.group_name = name

    def rank(self) -> int:
        return self.engine.rank

    def size(self) -> int:
        return self.engine.size

    def group_rank(self, global_rank: int, role: str) -> int:
        try:
            return self.ranks.index(global_rank)
        except ValueError:
            raise DistributedError(f"{role} rank {global_rank} is not in process group "
                                   f"{self.group_name!r} (ranks {list(self.ranks)})") from None

    def __repr__(self) -> str:
        return f"<ProcessGroup {self.group_name} backend={self.backend_name} ranks={self.ranks}>"


class _NonMember:
    def __repr__(self) -> str:
        return "GroupMember.NON_GROUP_MEMBER"


class GroupMember:
    """``GroupMember.WORLD`` is the default group; ``NON_GROUP_MEMBER`` is what ``new_group``
    returns on ranks outside the new group."""

    WORLD = None
    NON_GROUP_MEMBER = _NonMember()


@dataclass
class _World:
    default: ProcessGroup | None = None
    groups: list = field(default_factory=list)
    global_rank: int = 0
    broken: bool = False
    world_comm: object = None  # MPI.COMM_WORLD once MPI is up: aborting ends every rank


WORLD = _World()


def is_available() -> bool:
    """Whether collectives can run at all (mpi4py importable)."""
    try:
        import mpi4py  # noqa: F401 - probing for the optional dependency
    except ImportError:
        return False
    return True


def is_mpi_available() -> bool:
    return is_available()


is_gloo_available = is_mpi_available


def is_nccl_available() -> bool:
    try:
        from cupy.cuda import nccl  # noqa: F401 - probing for the optional dependency
    except Exception:
        return False
    return True


def is_initialized() -> bool:
    return WORLD.default is not None


def _seconds(timeout) -> float:
    if timeout is None:
        return DEFAULT_TIMEOUT.total_seconds()
    s = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else float(timeout)
    if s <= 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    return s


def _mpi():
    # mpi4py initializes MPI on import: it loads only when a process group is created
    try:
        from mpi4py import MPI
    except ImportError:
        raise DistributedError("graphtorch.distributed needs mpi4py and an MPI library: "
                               "pip install 'graphtorch[distributed]'") from None
    return MPI


def _check_env(name: str, value: int, expected: int) -> None:
    if value not in (-1, expected):
        raise DistributedError(
            f"init_process_group: {name}={value} but the MPI world has {name}={expected}; "
            "start every rank with `mpiexec -n N python script.py` or `python -m "
            "graphtorch.distributed.run --nproc-per-node N script.py`")


def _env_int(name: str) -> int:
    value = os.environ.get(name)
    if value is None:
        return -1
    try:
        return int(value)
    except ValueError:
        raise DistributedError(f"init_process_group: environment variable {name}={value!r} is "
                               "not an integer") from None


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout=None, world_size: int = -1, rank: int = -1, store=None,
                       group_name: str = "", pg_options=None, device_id=None) -> None:
    """Join the default process group (PyTorch's signature).

    ``backend``: ``"mpi"`` or its alias ``"gloo"`` (CPU tensors; CUDA tensors are staged through
    host memory) or ``"nccl"`` (CUDA tensors, CuPy's NCCL). ``init_method``: ``"env://"`` (RANK /
    WORLD_SIZE must then agree with the MPI world), ``"mpi://"`` or None. ``timeout`` bounds every
    collective: past it the waiting ranks raise DistributedTimeoutError and the job is aborted.
    """
    if WORLD.default is not None:
        raise DistributedError("trying to initialize the default process group twice")
    name = "mpi" if backend is None else str(backend).lower()
    if name not in _BACKEND_ALIASES:
        raise DistributedError(f"init_process_group: unknown backend {backend!r}; graphtorch "
                               "has 'mpi' (alias 'gloo') and 'nccl'")
    if init_method not in (None, "env://", "mpi://"):
        raise DistributedError(
            f"init_process_group: init_method {init_method!r} is not supported: ranks find "
            "each other through the MPI launcher (use 'env://' or leave it out)")
    if store is not None:
        raise DistributedError("init_process_group: store= is not supported (the MPI launcher "
                               "connects the ranks)")
    timeout_s = _seconds(timeout)
    mpi = _mpi()
    comm = mpi.COMM_WORLD.Dup()
    size, me = comm.Get_size(), comm.Get_rank()
    if init_method == "env://" or (init_method is None and "WORLD_SIZE" in os.environ):
        _check_env("WORLD_SIZE", _env_int("WORLD_SIZE"), size)
        _check_env("RANK", _env_int("RANK"), me)
    _check_env("world_size", world_size, size)
    _check_env("rank", rank, me)
    WORLD.global_rank = me
    WORLD.world_comm = mpi.COMM_WORLD  # what MPI_Abort ends, even after the dup is freed
    WORLD.broken = False
    host = make_mpi_engine(comm, timeout_s)
    engine = host
    if _BACKEND_ALIASES[name] == "nccl":
        from graphtorch.distributed.nccl_engine import NcclEngine  # NOTE: CuPy, for nccl only

        engine = NcclEngine.bootstrap(host, timeout_s, _mark_broken, device_id)
    WORLD.default = ProcessGroup(engine, tuple(range(size)), name, timeout_s,
                                 group_name or "default", host_engine=host)
    WORLD.groups = [WORLD.default]
    _install_failure_handlers()


def make_mpi_engine(comm, timeout_s: float):
    # NOTE: mpi_engine imports mpi4py: loaded only once MPI is wanted
    from graphtorch.distributed.mpi_engine import MpiEngine

    return MpiEngine(comm, timeout_s, _mark_broken)


def default_group(what: str) -> ProcessGroup:
    if WORLD.default is None:
        raise DistributedError(f"{what}: Default process group has not been initialized, please "
                               "make sure to call init_process_group.")
    return WORLD.default


def resolve(group, what: str) -> ProcessGroup | None:
    """The group a collective runs on; None when this rank is not a member (nothing to do)."""
    world = default_group(what)
    if group is None:
        return world
    if group is GroupMember.NON_GROUP_MEMBER:
        return None
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"{what}: group must be a ProcessGroup from new_group(), got "
                        f"{type(group).__name__}")
    if group not in WORLD.groups:
        raise DistributedError(f"{what}: {group!r} was destroyed")
    return group


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization: bool = False, group_desc=None):
    """A group of ``ranks`` (all ranks if None). Every rank must call it, as in PyTorch."""
    world = default_group("new_group")
    size = world.size()
    members = tuple(range(size)) if ranks is None else tuple(sorted(int(r) for r in ranks))
    for r in members:
        if not 0 <= r < size:
            raise DistributedError(f"new_group: rank {r} is outside the world of size {size}")
    if len(set(members)) != len(members):
        raise DistributedError(f"new_group: duplicate ranks in {list(ranks)}")
    timeout_s = world.timeout_s if timeout is None else _seconds(timeout)
    me = WORLD.global_rank
    comm = world.host_engine.split(me in members, members.index(me) if me in members else 0)
    if comm is None:
        return GroupMember.NON_GROUP_MEMBER
    host = make_mpi_engine(comm, timeout_s)
    engine = host
    name = backend or world.backend_name
    if _BACKEND_ALIASES.get(str(name).lower()) == "nccl":
        from graphtorch.distributed.nccl_engine import NcclEngine  # NOTE: CuPy, for nccl only

        engine = NcclEngine.bootstrap(host, timeout_s, _mark_broken, None)
    group = ProcessGroup(engine, members, str(name), timeout_s,
                         group_desc or f"group{len(WORLD.groups)}", host_engine=host)
    WORLD.groups.append(group)
    return group


def get_rank(group=None) -> int:
    """This process's rank in ``group`` (the world by default); -1 outside the group."""
    pg = resolve(group, "get_rank")
    return -1 if pg is None else (WORLD.global_rank if group is None else pg.rank())


def get_world_size(group=None) -> int:
    pg = resolve(group, "get_world_size")
    return -1 if pg is None else pg.size()


def get_backend(group=None) -> str:
    pg = resolve(group, "get_backend")
    if pg is None:
        raise DistributedError("get_backend: this rank is not in the group")
    return pg.backend_name


def get_global_rank(group, group_rank: int) -> int:
    pg = resolve(group, "get_global_rank")
    return pg.ranks[group_rank]


def get_process_group_ranks(group) -> list[int]:
    pg = resolve(group, "get_process_group_ranks")
    return list(pg.ranks)


def destroy_process_group(group=None) -> None:
    """Free ``group`` (all groups and the default one when None)."""
    if group is None:
        for pg in reversed(WORLD.groups):
            _destroy(pg)
        WORLD.groups = []
        WORLD.default = None
        return
    if group is GroupMember.NON_GROUP_MEMBER:
        return
    if group in WORLD.groups:
        WORLD.groups.remove(group)
        _destroy(group)


def _destroy(pg: ProcessGroup) -> None:
    if pg.engine is not pg.host_engine:
        pg.engine.destroy()
    pg.host_engine.destroy()


# --- failure handling -------------------------------------------------------------------------
def _mark_broken(message: str) -> None:
    """A collective timed out: the communicator is unusable and MPI_Finalize would hang."""
    WORLD.broken = True


_HANDLERS = {"installed": False}
_ABORT_DRAIN_S = 0.5  # seconds between flushing a failure report and MPI_Abort


def _install_failure_handlers() -> None:
    if _HANDLERS["installed"]:
        return
    _HANDLERS["installed"] = True
    previous = sys.excepthook

    def excepthook(tp, value, tb):
        if WORLD.world_comm is None:
            previous(tp, value, tb)
            return
        report_failure(value, tb)
        abort_job(1)

    sys.excepthook = excepthook
    atexit.register(_abort_if_broken)


def report_failure(exc: BaseException, tb=None) -> None:
    """Print ``[rank N]`` with the traceback and a one-line summary to stderr."""
    rank = WORLD.global_rank
    text = "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))
    prefixed = "".join(f"[rank {rank}] {line}\n" for line in text.rstrip().splitlines())
    sys.stderr.write(prefixed)
    sys.stderr.write(f"graphtorch.distributed: rank {rank} failed with {type(exc).__name__}: "
                     f"{exc}; aborting the job\n")
    sys.stderr.flush()


def abort_job(code: int) -> None:
    """End every rank of the job (MPI_Abort); a plain exit when no MPI world exists."""
    sys.stdout.flush()
    sys.stderr.flush()
    comm = WORLD.world_comm
    if comm is not None:
        # MPI_Abort makes the launcher kill every rank at once; output still in the pipe to its
        # forwarder can be dropped (a busy CI machine lost a whole failure report), so give the
        # forwarder a moment to drain it first.
        time.sleep(_ABORT_DRAIN_S)
        comm.Abort(code)
    os._exit(code)


def _abort_if_broken() -> None:
    if WORLD.broken:
        abort_job(1)
