"""What blocks the TorchScript cases: failures of benchmarks/torchscript_cases.py grouped by cause.

``.venv/bin/python benchmarks/torchscript_cases_report.py /tmp/torchscript_cases.json`` prints, for
each status other than pass, the causes by how many cases each blocks, and per file the counts by
kind of case. The harness prints the same table at the end of a run.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
from pathlib import Path

# (pattern on the failure message, feature): the first that matches names the feature
_FEATURES = (
    (r"cannot script the class|cannot call class|script an instance",
     "user classes (@torch.jit.script class, its methods and constructor)"),
    (r"unknown type annotation '(List\[|Dict\[|Optional\[|Tuple\[)?[A-Z]\w*\]?'",
     "a user class or Enum as a type annotation"),
    (r"Python \w+ object as a value|has a type script does not support",
     "Enum members / user objects as values or module attributes"),
    (r"interface", "torch.jit.interface"),
    (r"\bwith\b|context manager", "with a user context manager"),
    (r"NamedTuple|namedtuple", "NamedTuple"),
    (r"_overload|overload", "torch.jit._overload"),
    (r"complex", "complex tensors"),
    (r"sparse", "sparse tensors"),
    (r"Starred|\*x|starred", "*x unpacking"),
    (r"recursive call", "recursion"),
    (r"@ignore|ignored function", "@torch.jit.ignore'd functions with keyword arguments"),
    (r"property", "@property on modules"),
    (r"cannot import name|partially initialized module", "graphtorch import error"),
)


def feature(status: str, why: str) -> str:
    """The feature a failure message points at (or the message with names elided)."""
    for pattern, name in _FEATURES:
        if re.search(pattern, why):
            return name
    msg = re.sub(r"'[^']*'", "'…'", why.split(": ", 1)[-1])
    return re.sub(r"\d+", "N", msg)[:90]


def blockers(results: list[dict]) -> dict[str, collections.Counter]:
    """status -> Counter of features, over the counted (not excluded) cases."""
    out: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in results:
        if r["status"] == "wrong":
            out["wrong"][f"{r['file']}:{r['line']} ({r['test']}): {r.get('why', '')[:90]}"] += 1
        elif r["status"] not in ("pass", "excluded"):
            out[r["status"]][feature(r["status"], r.get("why", ""))] += 1
    return out


def print_blockers(results: list[dict], top: int = 25) -> None:
    for status, counts in blockers(results).items():
        print(f"\n{status}: {sum(counts.values())} cases")
        for name, n in counts.most_common(top):
            print(f"  {n:4d}  {name}")
    by_kind = collections.Counter((r["file"], r.get("kind") or "checkScript", r["status"])
                                  for r in results if r["status"] != "excluded")
    print("\nper file and kind of case (pass / cases):")
    for file, kind in sorted({(f, k) for f, k, _ in by_kind}):
        n = sum(v for (f, k, _), v in by_kind.items() if (f, k) == (file, kind))
        print(f"  {file:30s} {kind:12s} {by_kind[(file, kind, 'pass')]:4d} / {n}")


def is_checkscript(r: dict) -> bool:
    """A ``self.checkScript`` call site (the issue's measure), whichever runner took it."""
    kind = r.get("kind")
    return kind in (None, "checkScript") or (kind == "site" and r.get("site_call") == "checkScript")


def _runner(r: dict) -> str:
    kind = r.get("kind")
    if kind is None:
        return "checkScript"
    if kind == "site":
        return f"{r['site_call']}@site"
    return kind


def print_found(path: Path, results: list[dict], dropped: list[dict]) -> None:
    """What the file holds and why a case is not counted (printed under the file's line)."""
    text = path.read_text()
    found = {name: len(re.findall(rf"\bself\.{name}\(", text))
             for name in ("checkScript", "checkModule")}
    by_runner = collections.Counter(_runner(r) for r in results)
    print(f"    found: {found['checkScript']} self.checkScript and {found['checkModule']} "
          f"self.checkModule calls in the text; cases by runner: " + ", ".join(
              f"{k}={v}" for k, v in sorted(by_runner.items())))
    excluded = collections.Counter(
        re.sub(r"call \d+", "call N", " ".join(r.get("why", "").split()))[:110]
        for r in results if r["status"] == "excluded")
    if excluded:
        print(f"    excluded (torch itself fails, or eager and script disagree, on the case as run "
              f"here): {sum(excluded.values())}")
        for why, n in excluded.most_common(8):
            print(f"      {n:3d}  {why}")
    for d in dropped:
        print(f"    not taken: line {d['line']}: {d['why']}")


def print_checkscript_measure(results: list[dict]) -> None:
    """The issue's measure: every checkScript call site that torch.jit.script gets right."""
    counted = [r for r in results if is_checkscript(r) and r["status"] != "excluded"]
    counts = collections.Counter(r["status"] for r in counted)
    n = len(counted)
    excluded = sum(1 for r in results if is_checkscript(r) and r["status"] == "excluded")
    print(f"\ncheckScript call sites that torch passes: {n} ({excluded} more excluded)")
    if n:
        print("  " + ", ".join(f"{s} {counts[s]} ({100 * counts[s] / n:.1f}%)"
                               for s in ("pass", "refused", "missing", "crash", "wrong", "hang")))


def markdown(results: list[dict]) -> str:
    """Every failing case grouped by status and feature, as a markdown list (for a blocker
    list): file:line, test, kind and message."""
    out = []
    for status in ("wrong", "hang", "crash", "missing", "refused"):
        rows = [r for r in results if r["status"] == status]
        if not rows:
            continue
        out.append(f"\n## {status}: {len(rows)} cases\n")
        groups: dict[str, list[dict]] = collections.defaultdict(list)
        for r in rows:
            groups[feature(status, r.get("why", ""))].append(r)
        for name, members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            out.append(f"- **{name}** ({len(members)})")
            for r in members:
                why = " ".join(r.get("why", "").split())[:160]
                out.append(f"  - {r['file']}:{r['line']} {r['test']} [{_runner(r)}]: {why}")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", nargs="?", default="/tmp/torchscript_cases.json")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--markdown", help="write every failing case, grouped, to this file")
    a = ap.parse_args()
    results = json.loads(Path(a.json).read_text())
    if a.markdown:
        Path(a.markdown).write_text(markdown(results))
    print_blockers(results, a.top)
    print_checkscript_measure(results)


if __name__ == "__main__":
    main()
