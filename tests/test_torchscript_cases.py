"""benchmarks/torchscript_cases.py: which call sites of a PyTorch-style test file become cases, and
how each runner classifies them (on a small test file written here, not PyTorch's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

TEST_FILE = '''
import torch
from typing import List


class TestLanguage(JitTestCase):
    def _inputs(self):
        return (torch.arange(3.0),)

    def test_plain(self):
        def double(x):
            return x * 2
        self.checkScript(double, (torch.ones(2),))

    def test_loop(self):
        def add(a: int, b: int) -> int:
            return a + b
        for n in [1, 5, 9]:
            self.checkScript(add, (n, 2))

    def test_helper_inputs(self):
        def total(x):
            return x.sum()
        self.checkScript(total, self._inputs())

    def test_expected_failure(self):
        def bad(x: List[int]):
            return x.no_such_method()
        with self.assertRaises(RuntimeError):
            self.checkScript(bad, ([1],))

    def test_assert_equal(self):
        @torch.jit.script
        def neg(x: int) -> int:
            return -x
        out = neg(4)
        self.assertEqual(out, -4)
'''


@pytest.mark.torch
def test_every_call_site_is_a_case_with_its_runner(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_language.py").write_text(TEST_FILE)
    out = tmp_path / "cases.json"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "torchscript_cases.py"),
                          str(tmp_path / "tests"), "--json", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    cases = {(c["test"].split(".")[-1], c.get("kind")): c for c in json.loads(out.read_text())}
    # a top-level statement: the plain runner; a loop, self.helper() inputs and a with block: the
    # site runner (the whole method, one case per site, every call of a loop compared)
    assert cases[("test_plain", None)]["status"] == "pass"
    assert cases[("test_loop", "site")]["status"] == "pass"
    assert cases[("test_helper_inputs", "site")]["status"] == "pass"
    excluded = cases[("test_expected_failure", "site")]
    assert excluded["status"] == "excluded" and "script raises" in excluded["why"]
    # a name bound to a scripted call's result, compared by assertEqual: the program runner
    assert cases[("test_assert_equal", "assertEqual")]["status"] == "pass"
    assert "found: 4 self.checkScript and 0 self.checkModule calls in the text" in run.stdout
    assert "checkScript call sites that torch passes: 3 (1 more excluded)" in run.stdout
