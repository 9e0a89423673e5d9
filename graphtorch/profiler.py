"""``graphtorch.profiler`` (``torch.profiler``): the newer profiler API over
:mod:`graphtorch.autograd.profiler` (every dispatched op timed on the CPU).

``schedule(wait=, warmup=, active=, repeat=, skip_first=)`` drives a long-running job: each
``prof.step()`` moves to the next step; steps are idle (``NONE``), warming up (``WARMUP``: not
recorded) or recorded (``RECORD``, the last of a cycle ``RECORD_AND_SAVE``). When a cycle's last
recorded step ends, ``on_trace_ready(prof)`` runs and ``prof.key_averages()`` holds that cycle's
events, each recorded step a ``ProfilerStep#<n>`` range. Without a schedule every step records
and ``on_trace_ready`` runs when the block ends.

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
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from graphtorch.autograd import profiler as _autograd_profiler
from graphtorch.autograd.profiler import record_function

__all__ = ["ProfilerAction", "ProfilerActivity", "profile", "record_function", "schedule"]


class ProfilerActivity(enum.Enum):
    """What to profile; graphtorch records CPU time for every activity asked for."""

    CPU = "CPU"
    CUDA = "CUDA"
    XPU = "XPU"
    MTIA = "MTIA"


class ProfilerAction(enum.Enum):
    """What the profiler does during one step (the value a ``schedule`` returns)."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0) -> Callable[[int], ProfilerAction]:
    """``torch.profiler.schedule``: skip ``skip_first`` steps, then cycles of ``wait`` idle,
    ``warmup`` warm-up and ``active`` recorded steps, at most ``repeat`` cycles (0: no limit).
    With ``skip_first_wait`` the first cycle starts without its wait."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise ValueError(f"Invalid profiler schedule arguments: wait={wait}, warmup={warmup}, "
                         f"active={active}, repeat={repeat}, skip_first={skip_first}")
    if warmup == 0:
        # NOTE: PyTorch warns the same way: the first recorded step then carries the start-up
        warnings.warn("Profiler won't be using warmup, this can skew profiler results",
                      stacklevel=2)
    cycle = wait + warmup + active

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise ValueError(f"profiler schedule: step must be >= 0, got {step}")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        at = step % cycle
        if at < wait:
            return ProfilerAction.NONE
        if at < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if at < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


def _always_record(step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


_RECORDING = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)


class profile(_autograd_profiler.profile):  # noqa: N801 - the PyTorch name
    """``torch.profiler.profile``: ``activities`` (CPU time is what is recorded),
    ``schedule``, ``on_trace_ready``, ``record_shapes``, ``profile_memory``; ``step()`` ends a
    step, ``step_num`` counts them."""

    def __init__(self, *, activities: Iterable[ProfilerActivity] | None = None,
                 schedule: Callable[[int], ProfilerAction] | None = None,
                 on_trace_ready: Callable | None = None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False,
                 with_flops: bool = False, with_modules: bool = False,
                 experimental_config: Any = None, **kwargs: Any):
        super().__init__(record_shapes=record_shapes, profile_memory=profile_memory,
                         with_stack=with_stack, with_flops=with_flops, with_modules=with_modules)
        self.activities = list(activities or [ProfilerActivity.CPU])
        self.schedule = schedule or _always_record
        self._scheduled = schedule is not None
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.current_action = ProfilerAction.NONE
        self._recording = False
        self._step_range: record_function | None = None

    # -- the schedule's state machine ----------------------------------------------------------
    def _start_recording(self) -> None:
        self._roots, self._stack = [], []
        self._function_events = None
        _autograd_profiler.profile.__enter__(self)
        self._recording = True

    def _stop_recording(self) -> None:
        self._close_step()
        _autograd_profiler.profile.__exit__(self, None, None, None)
        self._recording = False

    def _open_step(self) -> None:
        if self._recording and self._scheduled:
            self._step_range = record_function(f"ProfilerStep#{self.step_num}")
            self._step_range.__enter__()

    def _close_step(self) -> None:
        if self._step_range is not None:
            self._step_range.__exit__(None, None, None)
            self._step_range = None

    def _enter_action(self, action: ProfilerAction) -> None:
        previous, self.current_action = self.current_action, action
        if previous in _RECORDING and (previous is ProfilerAction.RECORD_AND_SAVE
                                       or action not in _RECORDING):
            self._stop_recording()
            self._trace_ready()
        if action in _RECORDING and not self._recording:
            self._start_recording()
        self._open_step()

    def _trace_ready(self) -> None:
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def __enter__(self) -> profile:
        if not self.enabled:
            return self
        self.current_action = ProfilerAction.NONE
        self._enter_action(self.schedule(self.step_num))
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.enabled:
            return
        if self._recording:
            self._stop_recording()
            self._trace_ready()
        self.current_action = ProfilerAction.NONE

    def step(self) -> None:
        """End the current step and start the next (what the schedule says it does)."""
        self._close_step()
        self.step_num += 1
        if self.enabled:
            self._enter_action(self.schedule(self.step_num))

    def start(self) -> None:
        self.__enter__()

    def stop(self) -> None:
        self.__exit__(None, None, None)
