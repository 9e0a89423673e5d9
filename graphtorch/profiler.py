"""``graphtorch.profiler`` (``torch.profiler``): the newer profiler API over
:mod:`graphtorch.autograd.profiler` (every dispatched op timed on the CPU).

>>> import graphtorch
>>> from graphtorch.profiler import ProfilerActivity, profile, record_function
>>> with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
...     with record_function("model_inference"):
...         _ = graphtorch.ones(2, 3).sum()
>>> [e.key for e in prof.key_averages()][0]
'model_inference'
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import Any

from graphtorch.autograd import profiler as _autograd_profiler
from graphtorch.autograd.profiler import record_function

__all__ = ["ProfilerActivity", "profile", "record_function"]


class ProfilerActivity(enum.Enum):
    """What to profile; graphtorch records CPU time for every activity asked for."""

    CPU = "CPU"
    CUDA = "CUDA"
    XPU = "XPU"
    MTIA = "MTIA"


class profile(_autograd_profiler.profile):  # noqa: N801 - the PyTorch name
    """``torch.profiler.profile``: ``activities``, ``schedule`` and ``on_trace_ready`` are
    accepted; ``on_trace_ready(prof)`` runs when the block ends; ``step()`` marks a step."""

    def __init__(self, *, activities: Iterable[ProfilerActivity] | None = None,
                 schedule: Callable | None = None, on_trace_ready: Callable | None = None,
                 record_shapes: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_flops: bool = False, with_modules: bool = False,
                 experimental_config: Any = None, **kwargs: Any):
        super().__init__(record_shapes=record_shapes, profile_memory=profile_memory,
                         with_stack=with_stack, with_flops=with_flops, with_modules=with_modules)
        self.activities = list(activities or [ProfilerActivity.CPU])
        self.on_trace_ready = on_trace_ready
        self.step_num = 0

    def step(self) -> None:
        self.step_num += 1

    def start(self) -> None:
        self.__enter__()

    def stop(self) -> None:
        self.__exit__(None, None, None)

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)
