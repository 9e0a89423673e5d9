"""``graphtorch.autograd.profiler`` (``torch.autograd.profiler``): time every dispatched op.

Inside ``with profile() as prof:`` every call that reaches the op dispatcher (functions, tensor
methods and operators, the ops a composite runs, the ops backward formulas run) is timed as an
``aten::<op>`` event, nested under the op or :class:`record_function` range that called it.
``prof.key_averages().table(sort_by="self_cpu_time_total")`` prints PyTorch's table: self and
total CPU time, their share, the average and the call count per name (per input shapes with
``record_shapes=True`` and ``key_averages(group_by_input_shape=True)``). With
``profile_memory=True`` the table adds "CPU Mem" and "Self CPU Mem": the bytes of the new tensors
each op returned ("Self": those its own kernel made, not a nested op's), the op's total adding the
ops nested in it. Frees are not recorded (PyTorch subtracts the bytes released inside an op).

>>> import graphtorch
>>> from graphtorch.autograd import profiler
>>> with profiler.profile() as prof:
...     with profiler.record_function("step"):
...         y = graphtorch.ones(4, 4).matmul(graphtorch.ones(4, 4)).relu()
>>> sorted(e.key for e in prof.key_averages())
['aten::matmul', 'aten::ones', 'aten::relu', 'step']
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from graphtorch.errors import ArgumentError
from graphtorch.ops.dispatch import PROFILE, dispatch
from graphtorch.tensor import Tensor

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "profile", "record_function"]

_ACTIVE: list[profile] = []

_SORT_KEYS = ("cpu_time_total", "self_cpu_time_total", "cpu_time", "self_cpu_time", "count",
              "cuda_time_total", "self_cuda_time_total", "device_time_total",
              "self_device_time_total", "cpu_memory_usage", "self_cpu_memory_usage")


class FunctionEvent:
    """One timed op call or ``record_function`` range (times in microseconds)."""

    def __init__(self, name: str, start_ns: int, input_shapes: list | None = None,
                 is_user_annotation: bool = False):
        self.name = self.key = name
        self.start_ns, self.end_ns = start_ns, start_ns
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.is_user_annotation = is_user_annotation
        self.children: list[FunctionEvent] = []
        self.cpu_parent: FunctionEvent | None = None
        self.count = 1
        self.self_cpu_memory_usage = 0   # bytes of the new tensors the op itself returned
        self.output_ids: frozenset = frozenset()  # its results' memory (a parent skips these)

    @property
    def cpu_memory_usage(self) -> int:
        return self.self_cpu_memory_usage + sum(c.cpu_memory_usage for c in self.children)

    @property
    def cpu_time_total(self) -> float:
        return (self.end_ns - self.start_ns) / 1e3

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.children)

    cpu_time = cpu_time_total
    self_cpu_time = self_cpu_time_total
    cuda_time_total = self_cuda_time_total = device_time_total = 0.0
    self_device_time_total = 0

    def __repr__(self) -> str:
        return (f"<FunctionEvent name={self.name} cpu_time_total={self.cpu_time_total:.3f}us "
                f"children={len(self.children)}>")


class FunctionEventAvg:
    """The events of one name (and input shapes) summed: ``count``, ``cpu_time_total``,
    ``self_cpu_time_total``; ``cpu_time`` and ``self_cpu_time`` are per call."""

    def __init__(self, key: str, input_shapes: str | None = None):
        self.key = key
        self.input_shapes = input_shapes
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = 0
        self.self_cpu_memory_usage = 0
        self.is_user_annotation = False

    def add(self, event: FunctionEvent) -> FunctionEventAvg:
        self.count += 1
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total
        self.cpu_memory_usage += event.cpu_memory_usage
        self.self_cpu_memory_usage += event.self_cpu_memory_usage
        self.is_user_annotation = event.is_user_annotation
        return self

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / max(self.count, 1)

    @property
    def self_cpu_time(self) -> float:
        return self.self_cpu_time_total / max(self.count, 1)

    cuda_time_total = self_cuda_time_total = device_time_total = 0.0
    self_device_time_total = 0

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total:.3f}us "
                f"cpu_time={self.cpu_time_total:.3f}us count={self.count}>")


def _format_us(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _format_memory(nbytes: int) -> str:
    """Bytes as PyTorch's profiler tables print them (``94.79 Mb``, ``19.53 Kb``, ``572 b``)."""
    for unit, size in (("Gb", 1024 ** 3), ("Mb", 1024 ** 2), ("Kb", 1024)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes} b"


class EventList(list):
    """A list of events (``FunctionEvent`` or ``FunctionEventAvg``) with PyTorch's helpers."""

    def __init__(self, events: Iterable = (), with_shapes: bool = False,
                 profile_memory: bool = False):
        super().__init__(events)
        self._with_shapes = with_shapes
        self._profile_memory = profile_memory

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shapes: bool = False) -> EventList:
        groups: dict[tuple, FunctionEventAvg] = {}
        for event in self:
            shapes = str(event.input_shapes) if group_by_input_shapes else None
            key = (event.key, shapes)
            if key not in groups:
                groups[key] = FunctionEventAvg(event.key, shapes)
            groups[key].add(event)
        return EventList(groups.values(), with_shapes=group_by_input_shapes,
                         profile_memory=self._profile_memory)

    def total_average(self) -> FunctionEventAvg:
        total = FunctionEventAvg("Total")
        for event in self:
            total.count += event.count
            total.cpu_time_total += event.cpu_time_total
            total.self_cpu_time_total += event.self_cpu_time_total
        return total

    def table(self, sort_by: str | None = None, row_limit: int = 100,
              max_src_column_width: int = 75, max_name_column_width: int = 55,
              max_shapes_column_width: int = 80, header: str | None = None,
              top_level_events_only: bool = False) -> str:
        """PyTorch's summary table, rows sorted by ``sort_by`` (descending)."""
        rows = list(self)
        if top_level_events_only:
            rows = [e for e in rows if getattr(e, "cpu_parent", None) is None]
        if sort_by is not None:
            if sort_by not in _SORT_KEYS:
                raise ArgumentError(f"table(): unknown sort_by {sort_by!r}; expected one of "
                                    f"{', '.join(_SORT_KEYS)}")
            rows.sort(key=lambda e: getattr(e, sort_by), reverse=True)
        if row_limit > 0:
            rows = rows[:row_limit]
        total_self = self.self_cpu_time_total or 1.0
        names = [e.key if len(e.key) <= max_name_column_width
                 else e.key[:max_name_column_width - 3] + "..." for e in rows]
        name_w = max([len("Name")] + [len(n) for n in names]) + 2
        memory = self._profile_memory
        columns = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"] + (
            ["CPU Mem", "Self CPU Mem"] if memory else []) + ["# of Calls"]
        widths = [14] * len(columns)
        with_shapes = self._with_shapes
        rule = "-" * (name_w - 2) + "".join("  " + "-" * (w - 2) for w in widths)
        head = "Name".ljust(name_w) + "".join(c.rjust(w - 2) + "  " for c, w in zip(columns,
                                                                                     widths))
        if with_shapes:
            rule += "-" * max_shapes_column_width
            head += "Input Shapes"
        lines = [header] if header else []
        lines += [rule, head.rstrip(), rule]
        for name, e in zip(names, rows):
            cells = [f"{100 * e.self_cpu_time_total / total_self:.2f}%",
                     _format_us(e.self_cpu_time_total),
                     f"{100 * e.cpu_time_total / total_self:.2f}%",
                     _format_us(e.cpu_time_total), _format_us(e.cpu_time)] + (
                [_format_memory(e.cpu_memory_usage), _format_memory(e.self_cpu_memory_usage)]
                if memory else []) + [str(e.count)]
            line = name.ljust(name_w) + "".join(c.rjust(w - 2) + "  " for c, w in zip(cells,
                                                                                       widths))
            if with_shapes:
                line += str(e.input_shapes)[:max_shapes_column_width]
            lines.append(line.rstrip())
        lines += [rule, f"Self CPU time total: {_format_us(self.self_cpu_time_total)}", ""]
        return "\n".join(lines)

    def export_chrome_trace(self, path: str) -> None:
        events = [{"name": e.name, "ph": "X", "cat": "user_annotation" if e.is_user_annotation
                   else "cpu_op", "ts": e.start_ns / 1e3, "dur": e.cpu_time_total, "pid": 0,
                   "tid": 0, "args": {"Input Shapes": e.input_shapes}}
                  for e in _walk(self)]
        with open(path, "w") as out:
            json.dump({"traceEvents": events}, out)


def _walk(events: Iterable[FunctionEvent]) -> list[FunctionEvent]:
    out: list[FunctionEvent] = []
    stack = list(events)[::-1]
    while stack:
        event = stack.pop()
        out.append(event)
        stack.extend(event.children[::-1])
    return out


def _shapes(args: tuple, kwargs: dict | None) -> list:
    values = list(args) + list((kwargs or {}).values())
    shapes = []
    for v in values:
        if isinstance(v, Tensor):
            shapes.append(list(v.shape))
        elif isinstance(v, (list, tuple)) and v and all(isinstance(t, Tensor) for t in v):
            shapes.append([list(t.shape) for t in v])
        else:
            shapes.append([])
    return shapes


class profile:  # noqa: N801 - the PyTorch name
    """``with profile(record_shapes=False) as prof:`` times every dispatched op (CPU time;
    ``use_cuda``/``use_device``, ``profile_memory``, ``with_stack`` ... are accepted and
    record nothing more)."""

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False,
                 use_device: str | None = None, record_shapes: bool = False,
                 with_flops: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_modules: bool = False, use_kineto: bool = True,
                 use_cpu: bool = True, experimental_config: Any = None,
                 acc_events: bool = False, custom_trace_id_callback: Any = None):
        self.enabled = enabled
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self._roots: list[FunctionEvent] = []
        self._stack: list[FunctionEvent] = []
        self._function_events: EventList | None = None
        self._previous_hook = None

    # -- recording ----------------------------------------------------------------------------
    def __enter__(self) -> profile:
        if not self.enabled:
            return self
        if _ACTIVE:
            raise RuntimeError("Profiler is already enabled on this thread")
        _ACTIVE.append(self)
        self._previous_hook = PROFILE.hook
        PROFILE.hook = _profiled_dispatch
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.enabled:
            return
        PROFILE.hook = self._previous_hook
        _ACTIVE.remove(self)
        self._function_events = EventList(_walk(self._roots), with_shapes=False,
                                          profile_memory=self.profile_memory)

    def _open(self, name: str, shapes: list | None, user: bool) -> FunctionEvent:
        event = FunctionEvent(name, time.perf_counter_ns(), shapes, user)
        if self._stack:
            event.cpu_parent = self._stack[-1]
            self._stack[-1].children.append(event)
        else:
            self._roots.append(event)
        self._stack.append(event)
        return event

    def _close(self, event: FunctionEvent) -> None:
        event.end_ns = time.perf_counter_ns()
        # NOTE: pop down to the event (a range left open by an exception closes with it)
        while self._stack:
            if self._stack.pop() is event:
                break

    # -- results ------------------------------------------------------------------------------
    @property
    def function_events(self) -> EventList:
        if self._function_events is None:
            raise RuntimeError("Profiler didn't finish running")
        return self._function_events

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        return self.function_events.key_averages(group_by_input_shape)

    def table(self, sort_by: str | None = None, row_limit: int = 100, **kwargs: Any) -> str:
        return self.key_averages().table(sort_by=sort_by, row_limit=row_limit, **kwargs)

    def total_average(self) -> FunctionEventAvg:
        return self.function_events.total_average()

    @property
    def self_cpu_time_total(self) -> float:
        return self.function_events.self_cpu_time_total

    def export_chrome_trace(self, path: str) -> None:
        EventList(self._roots).export_chrome_trace(path)

    def __str__(self) -> str:
        return self.table()


def _profiled_dispatch(op, args: tuple, kwargs: dict | None):
    prof = _ACTIVE[-1]
    event = prof._open(f"aten::{op.name}", _shapes(args, kwargs) if prof.record_shapes else None,
                       False)
    try:
        PROFILE.bypass = True
        out = dispatch(op, args, kwargs)
        if prof.profile_memory:
            _count_memory(event, out, args, kwargs)
        return out
    finally:
        PROFILE.bypass = False
        prof._close(event)


def _arrays(value) -> list:
    if isinstance(value, Tensor):
        return [value._data]
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _arrays(v)]
    return []


def _root(array):
    while getattr(array, "base", None) is not None:
        array = array.base
    return array


def _count_memory(event: FunctionEvent, out, args: tuple, kwargs: dict | None) -> None:
    """The bytes of the tensors ``out`` holds that are new: neither an input's memory (a view,
    an in-place result) nor a nested op's result (counted there)."""
    inputs = {id(_root(a)) for a in _arrays(list(args) + list((kwargs or {}).values()))}
    nested = {i for c in event.children for i in c.output_ids}
    outputs = _arrays(out)
    event.output_ids = frozenset(id(_root(a)) for a in outputs)
    seen: set[int] = set()
    total = 0
    for a in outputs:
        root = id(_root(a))
        if root in inputs or root in nested or root in seen:
            continue
        seen.add(root)
        total += int(a.nbytes)
    event.self_cpu_memory_usage = total


class record_function:  # noqa: N801 - the PyTorch name
    """A named range in the profile (``with record_function("forward"):`` or as a decorator);
    the ops run inside it nest under it. Does nothing while no profiler runs."""

    def __init__(self, name: str, args: str | None = None):
        self.name = name
        self.args = args
        self._event: FunctionEvent | None = None
        self._profiler: profile | None = None

    def __enter__(self) -> record_function:
        if _ACTIVE:
            self._profiler = _ACTIVE[-1]
            self._event = self._profiler._open(self.name, None, True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._event is not None and self._profiler is not None:
            self._profiler._close(self._event)
        self._event = self._profiler = None

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)

        return wrapper
