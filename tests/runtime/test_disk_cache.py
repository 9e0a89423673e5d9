"""The disk caches stay under their size limit, least recently used entries first; nothing
young, nothing that is not a cache file, and a removed kernel is simply compiled again."""

from __future__ import annotations

import ctypes
import os
import time
import warnings

import numpy as np
import pytest

from graphtorch.runtime import c_backend, disk_cache


def _file(root, sub, name, size, age_s):
    path = root / sub / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("GT_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(disk_cache._STATE, "pending", 0)
    return tmp_path


def test_usage_counts_each_cache(root):
    _file(root, "kernels", "a.so", 100, 10)
    _file(root, "kernels", "a.ref", 10, 10)
    _file(root, "plans", "b.plan", 50, 10)
    _file(root, "plans", "notes.txt", 999, 10)          # not a cache file: not counted
    u = disk_cache.usage(root)
    assert (u.files, u.bytes) == (3, 160)
    assert u.by_dir["kernels"] == [2, 110] and u.by_dir["plans"] == [1, 50]


def test_prune_removes_the_least_recently_used_down_to_the_keep_fraction(root):
    old = [_file(root, "kernels", f"k{i}.so", 1000, 3600 * (10 - i)) for i in range(10)]
    young = _file(root, "plans", "new.plan", 5000, 0)        # written just now: kept
    other = _file(root, "kernels", "readme.md", 5000, 99999)  # not ours: kept
    files, freed = disk_cache.prune(limit=10_000, root=root)
    # 15,000 bytes of cache files; down to 8,000: the 7 oldest kernels go
    assert (files, freed) == (7, 7000)
    assert [p.exists() for p in old] == [False] * 7 + [True] * 3
    assert young.exists() and other.exists()
    assert disk_cache._read_note(root)[0] == 8000


def test_a_last_use_counts_as_recent(root):
    a = _file(root, "kernels", "a.so", 1000, 7200)
    b = _file(root, "kernels", "b.so", 1000, 3600)
    os.utime(a, (time.time() - 100, time.time() - 7200))      # a read recently, written long ago
    assert disk_cache.prune(limit=1500, root=root) == (1, 1000)
    assert a.exists() and not b.exists()


def test_under_the_limit_nothing_goes(root):
    paths = [_file(root, "plans", f"p{i}.plan", 100, 99999) for i in range(5)]
    assert disk_cache.prune(limit=10_000, root=root) == (0, 0)
    assert disk_cache.prune(limit=None, root=root) == (0, 0)
    assert all(p.exists() for p in paths)


def test_the_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("GT_CACHE_MAX_MB", raising=False)
    assert disk_cache.limit_bytes() == disk_cache.DEFAULT_MAX_MB << 20
    monkeypatch.setenv("GT_CACHE_MAX_MB", "0")
    assert disk_cache.limit_bytes() is None
    monkeypatch.setenv("GT_CACHE_MAX_MB", "1.5")
    assert disk_cache.limit_bytes() == int(1.5 * (1 << 20))
    monkeypatch.setenv("GT_CACHE_MAX_MB", "lots")
    with pytest.warns(RuntimeWarning, match="GT_CACHE_MAX_MB='lots'"):
        assert disk_cache.limit_bytes() == disk_cache.DEFAULT_MAX_MB << 20


def test_a_write_prunes_only_when_the_note_says_it_may_be_needed(root, monkeypatch):
    monkeypatch.setenv("GT_CACHE_MAX_MB", str(10_000 / (1 << 20)))
    olds = [_file(root, "kernels", f"k{i}.so", 1000, 3600 * (20 - i)) for i in range(15)]
    disk_cache._write_note(root, 1000)          # a fresh note, far under the limit: no walk
    disk_cache.note_write(1000)
    disk_cache.wait_for_prune()
    assert all(p.exists() for p in olds)
    disk_cache.note_write(9000)                 # the note plus this process's writes pass it
    disk_cache.wait_for_prune(30)
    assert sum(p.exists() for p in olds) == 8
    assert disk_cache._read_note(root)[0] == 8000


def test_a_stale_note_is_walked_again(root, monkeypatch):
    monkeypatch.setenv("GT_CACHE_MAX_MB", str(2000 / (1 << 20)))
    olds = [_file(root, "kernels", f"k{i}.so", 1000, 3600 * (5 - i)) for i in range(4)]
    (root / "usage").write_text(f"0 {time.time() - 2 * disk_cache.RESCAN_AFTER_S:.0f}\n")
    disk_cache.note_write(1)
    disk_cache.wait_for_prune(30)
    assert sum(p.exists() for p in olds) == 1


def test_clear_removes_every_entry(root):
    _file(root, "kernels", "a.so", 10, 10)
    _file(root, "triton", "t.py", 10, 10)
    before = disk_cache.clear(root)
    assert (before.files, before.bytes) == (2, 20)
    assert disk_cache.usage(root).files == 0


_SOURCE = """#include <stdint.h>
void kernel(void *const *P, const int64_t *I, const double *D) {
  ((double *)P[0])[0] = D[0] * 3.0 + 0.%d;
}
"""


@pytest.mark.skipif(not c_backend.available(), reason="needs a C compiler")
def test_a_pruned_kernel_is_compiled_again(root, monkeypatch):
    monkeypatch.setattr(disk_cache, "YOUNG_S", 0.0)
    n = 100 + int(time.time() * 1e6) % 899
    source = _SOURCE % n                                 # new to this process
    lib = c_backend.load(source)
    path = c_backend.build(source)
    assert path.exists()
    assert disk_cache.prune(limit=1, root=root)[0] >= 1
    assert not path.exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = c_backend.load(source)                  # built again, works
    assert path.exists()
    for handle in (lib, again):
        out = np.zeros(1)
        ptrs = (ctypes.c_void_p * 1)(out.ctypes.data)
        handle.kernel(ptrs, (ctypes.c_int64 * 1)(0), (ctypes.c_double * 1)(2.0))
        assert out[0] == pytest.approx(6.0 + n / 1000)
