"""The thin launcher (runtime/triton/thin_launch.py) with a stand-in for Triton's compiled
kernel: which calls take Triton's launch, which the precompiled one, with what arguments."""

from __future__ import annotations

import pytest

from graphtorch.runtime.triton.thin_launch import Launch, arg_key, int_class


class Ptr:
    def __init__(self, address: int):
        self.address = address

    def data_ptr(self) -> int:
        return self.address


class FakeCompiled:
    function = "fn-handle"
    packed_metadata = ("meta",)

    def __init__(self, log: list):
        self.log = log

    def run(self, *args):
        self.log.append(("thin", args))


class FakeJit:
    """``fn[grid](*args, **kw)`` as Triton's JITFunction: launches and returns the kernel."""

    def __init__(self, compiled_cls=FakeCompiled):
        self.log: list = []
        self.compiled_cls = compiled_cls

    def __getitem__(self, grid):
        def launch(*args, **kwargs):
            self.log.append(("triton", grid, args, kwargs))
            return self.compiled_cls(self.log)

        return launch


def _launch(fn, device=lambda: 0):
    return Launch(fn, "cuda", stream=lambda: 77, device=device)


def test_first_call_compiles_then_thin():
    fn = FakeJit()
    launch = _launch(fn)
    ptrs, ints = [Ptr(4096), Ptr(8192)], [1008, 7]
    launch((3,), ptrs, ints, {"BLOCK": 1024}, 4)
    launch((5,), ptrs, [2000, 7], {"BLOCK": 1024}, 4)
    assert [e[0] for e in fn.log] == ["triton", "thin"]
    assert fn.log[0][3] == {"BLOCK": 1024, "num_warps": 4}
    # grid padded to 3 dims, the current stream, the handles, no hooks, then every argument
    assert fn.log[1][1] == (5, 1, 1, 77, "fn-handle", ("meta",), None, None, None,
                            *ptrs, 2000, 7, 1024)
    assert launch.describe() == "1 thin / 1 Triton launches"


def test_specialization_key_follows_triton():
    assert int_class(1) != int_class(2) and int_class(16) != int_class(32 + 1)
    assert int_class(2**31) != int_class(2**31 - 1)
    aligned, odd = Ptr(64), Ptr(68)
    assert arg_key([aligned], []) != arg_key([odd], [])
    fn = FakeJit()
    launch = _launch(fn)
    for p, n in [(aligned, 32), (odd, 32), (aligned, 1), (aligned, 48), (odd, 33)]:
        launch((1,), [p], [n], {"BLOCK": 8}, 4)
    # 64 / 68 alignment, 1 (a constant to Triton), 32 and 48 (both multiples of 16): 4 keys
    assert [e[0] for e in fn.log] == ["triton", "triton", "triton", "thin", "triton"]


def test_constexprs_and_warps_are_part_of_the_key():
    fn = FakeJit()
    launch = _launch(fn)
    launch((1,), [Ptr(0)], [5], {"BLOCK": 8}, 4)
    launch((1,), [Ptr(0)], [5], {"BLOCK": 16}, 4)
    launch((1,), [Ptr(0)], [5], {"BLOCK": 16}, 8)
    assert [e[0] for e in fn.log] == ["triton"] * 3


def _profiler_hook(metadata) -> None:
    pass


class Bare:
    """A compiled kernel without the attributes the thin path calls (another Triton)."""

    def __init__(self, log):
        pass


def test_falls_back_to_tritons_launch(monkeypatch):
    fn = FakeJit(Bare)
    launch = _launch(fn)
    for _ in range(3):
        launch((1,), [Ptr(0)], [5], {"BLOCK": 8}, 4)
    assert [e[0] for e in fn.log] == ["triton"] * 3
    monkeypatch.setenv("GT_TRITON_THIN", "0")
    fn = FakeJit()
    launch = _launch(fn)
    for _ in range(2):
        launch((1,), [Ptr(0)], [5], {"BLOCK": 8}, 4)
    assert [e[0] for e in fn.log] == ["triton"] * 2


def test_a_launch_hook_keeps_tritons_launch(monkeypatch):
    knobs = pytest.importorskip("triton").knobs
    hook = knobs.runtime.launch_enter_hook
    if hasattr(hook, "add"):      # Triton 3.9: a chain of hooks
        monkeypatch.setattr(hook, "calls", [_profiler_hook])
    else:                         # Triton 3.6: one function or None
        monkeypatch.setattr(knobs.runtime, "launch_enter_hook", _profiler_hook)
    fn = FakeJit()
    launch = _launch(fn)
    for _ in range(2):
        launch((1,), [Ptr(0)], [5], {"BLOCK": 8}, 4)
    assert [e[0] for e in fn.log] == ["triton"] * 2


def test_another_device_compiles_again():
    fn = FakeJit()
    current = [0]
    launch = _launch(fn, device=lambda: current[0])
    for dev in (0, 0, 1, 1, 0):
        current[0] = dev
        launch((1,), [Ptr(0)], [5], {"BLOCK": 8}, 4)
    assert [e[0] for e in fn.log] == ["triton", "thin", "triton", "thin", "thin"]
