"""No archive-derived string reaches exec/compile/import/pickle or a restricted attribute read:
the hostile corpus and the victim run under an audit hook in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_archive_string_reaches_dynamic_python():
    proc = subprocess.run([sys.executable, "-m", "tests.serialization.audit_probe"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    control = [e for e in report["seen"] if e[0] == "control"]
    # the hook works: it saw the exec of a marker, the getattr of __globals__ and the
    # restricted __code__ read made on purpose
    assert {e[1] for e in control} >= {"exec", "getattr", "object.__getattr__"}, report
    leaks = [e for e in report["seen"] if e[0] != "control"]
    assert leaks == [], leaks
    assert report["refused"] == report["cases"] > 40
    assert "interpreter" in report["executors"] and "codegen" in report["executors"]
