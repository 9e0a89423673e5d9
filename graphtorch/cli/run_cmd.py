"""``graphtorch run MODEL``: run a model on given or random inputs, compare, benchmark."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import graphtorch
from graphtorch.archive.atomic_file import replace_file
from graphtorch.archive.reader import build, read_archive, usable_device
from graphtorch.autograd import no_grad
from graphtorch.cli import deadline
from graphtorch.cli.errors import CLIError, UsageError, emit_json
from graphtorch.cli.inputs import (
    DEFAULT_MAX_INPUT_BYTES,
    flatten_outputs,
    parse_bytes,
    resolve_inputs,
    to_call_args,
)
from graphtorch.cli.inspect_cmd import entry_method
from graphtorch.cli.run_compare import (
    FILE_ATOL,
    FILE_RTOL,
    compare_arrays,
    executors_compared,
    failure_line,
)
from graphtorch.errors import DeviceError, GraphtorchError
from graphtorch.jit import get_executor, set_executor


def add_parser(sub):
    p = sub.add_parser("run", help="run a model on inputs; compare outputs; measure latency")
    add_model_arguments(p)
    p.add_argument("--output", "-o", metavar="OUT.npz", help="write the outputs to an .npz file")
    p.add_argument("--compare", metavar="REF.npz", nargs="?", const="",
                   help="compare the outputs with reference arrays (keys output, output0 ...); "
                        "without a file (after the model): run the model through the "
                        "interpreter and the execution plan and compare the two")
    p.add_argument("--rtol", type=float, default=None,
                   help="relative tolerance (REF.npz: 1e-5; executors: per dtype, "
                        "docs/fusion.md)")
    p.add_argument("--atol", type=float, default=None,
                   help="absolute tolerance (REF.npz: 1e-8; executors: per dtype)")
    add_timing_arguments(p, iters=1)
    p.add_argument("--min-time", type=float, default=0.0, metavar="S",
                   help="keep iterating until S seconds have passed (at least --iters runs)")
    p.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                   help="progress bar on stderr for long runs (auto: when stderr is a terminal)")
    p.add_argument("--executor", choices=("compiled", "interpreter", "codegen"), default=None,
                   help="run the graph through execution plans (compiled), the reference "
                        "interpreter or the Tensor-level CPU codegen; default: $GT_EXECUTOR "
                        "or compiled")
    p.set_defaults(handler=run)
    return p


def add_model_arguments(p) -> None:
    p.add_argument("model", help="a .gt archive")
    p.add_argument("--method", default="forward", help="method to run (default: forward)")
    p.add_argument("--inputs", metavar="IN.npz", help="inputs by name from an .npz file")
    p.add_argument("--input", action="append", metavar="NAME=FILE.npy",
                   help="one input from a .npy file (repeatable)")
    p.add_argument("--shape", action="append", metavar="NAME:5x8[:float32]",
                   help="a random input of this shape and dtype (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="seed of random inputs (0)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default: cpu)")
    p.add_argument("--max-input-bytes", type=parse_bytes, default=DEFAULT_MAX_INPUT_BYTES,
                   metavar="N", help="cap on the total size of random inputs (default 1G; "
                                     "suffixes K, M, G, T)")
    p.add_argument("--timeout", type=_positive_seconds, default=None, metavar="SECONDS",
                   help="stop with an error (exit 124) when the command takes longer")


def add_timing_arguments(p, iters: int) -> None:
    p.add_argument("--warmup", type=_non_negative, default=0, metavar="N",
                   help="untimed runs first (0)")
    p.add_argument("--iters", type=_positive, default=iters, metavar="N",
                   help=f"timed runs ({iters})")


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _positive(text: str) -> int:
    n = _integer(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def _non_negative(text: str) -> int:
    n = _integer(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {n}")
    return n


def _positive_seconds(text: str) -> float:
    try:
        s = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not (0 < s < 1e9):     # NOTE: also refuses nan and inf
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return s


def output_path(output: str, model: str, example: str, may_be_model: bool = False) -> Path:
    """``-o`` checked before any work: a file name (not a directory) in an existing directory,
    not the model archive unless ``may_be_model``. Exactly this path is written, nothing else."""
    path = Path(output)
    if output.endswith(("/", os.sep)) or path.is_dir():
        raise UsageError(f"--output {output!r} is a directory; name the file to write, like "
                         f"{os.path.join(output, example)}")
    if not path.parent.is_dir():
        raise CLIError(f"--output {output!r}: the directory {str(path.parent)!r} does not "
                       f"exist")
    try:
        same = path.exists() and os.path.samefile(path, model)
    except OSError:
        same = False
    if same and not may_be_model:
        raise UsageError(f"--output {output!r} is the model archive itself; name another file")
    return path


@dataclass
class PreparedRun:
    """A loaded model bound to its inputs: ``call()`` runs it once."""

    obj: object
    target: object
    graph: object
    arrays: dict
    call_args: list
    device: object

    def call(self):
        try:
            with no_grad():
                return self.target(*self.call_args)
        except GraphtorchError:
            raise
        except (IndexError, RuntimeError, TypeError, ValueError) as e:
            # NOTE: the model rejected these inputs (a shape the graph cannot take, say): a
            # model/data error with one line, not an internal error
            raise CLIError(f"the model failed on these inputs: {type(e).__name__}: {e}") from e

    def sync(self) -> None:
        if self.device.type == "cuda":
            graphtorch.cuda.synchronize()


def prepare_run(args) -> PreparedRun:
    try:
        device = usable_device(args.device)
    except DeviceError as e:
        raise CLIError(f"--device {args.device}: {e}") from None
    loaded = read_archive(args.model, map_location=device)
    graph, arg_names, first = entry_method(loaded, args.method)
    arrays = resolve_inputs(graph, arg_names, first, args)
    obj = build(loaded)
    target = obj if loaded.manifest.root is None else obj._method(args.method)
    call_args = to_call_args(arrays, graph, arg_names, first, device)
    return PreparedRun(obj, target, graph, arrays, call_args, device)


class Progress:
    """A one-line progress bar on stderr, drawn at most 10 times a second."""

    def __init__(self, total: int | None, min_time: float, enabled: bool):
        self.total, self.min_time, self.enabled = total, min_time, enabled
        self.start = time.perf_counter()
        self.last = 0.0

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if not self.enabled or now - self.last < 0.1:
            return
        self.last = now
        frac = done / self.total if self.total else 0.0
        if self.min_time > 0:
            frac = max(frac, min(1.0, (now - self.start) / self.min_time))
        bar = "#" * int(frac * 30)
        sys.stderr.write(f"\r[{bar:<30}] {done} runs, {now - self.start:.1f}s")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.last:
            sys.stderr.write("\r" + " " * 60 + "\r")
            sys.stderr.flush()


def time_runs(prep: PreparedRun, warmup: int, iters: int, min_time: float,
              progress: str = "never") -> tuple[object, list[float]]:
    """Run ``warmup`` untimed and at least ``iters`` timed runs (for ``min_time`` seconds)."""
    result = None
    for _ in range(warmup):
        result = prep.call()
    prep.sync()
    times: list[float] = []
    t0 = time.perf_counter()
    first = time.perf_counter()
    result = prep.call()
    prep.sync()
    times.append(time.perf_counter() - first)
    expected = max(iters * times[0], min_time)
    enabled = progress == "always" or (progress == "auto" and sys.stderr.isatty()
                                       and expected > 2.0)
    bar = Progress(iters, min_time, enabled)
    try:
        while len(times) < iters or time.perf_counter() - t0 < min_time:
            s = time.perf_counter()
            result = prep.call()
            prep.sync()
            times.append(time.perf_counter() - s)
            bar.update(len(times))
    finally:
        bar.close()       # also on Ctrl-C or --timeout: the error line starts clean
    return result, times


def latency_stats(times: list[float]) -> dict:
    a = np.asarray(times) * 1e3
    mean = float(a.mean())
    return {"runs": len(times), "mean_ms": mean, "p50_ms": float(np.percentile(a, 50)),
            "p90_ms": float(np.percentile(a, 90)), "p99_ms": float(np.percentile(a, 99)),
            "min_ms": float(a.min()), "max_ms": float(a.max()),
            "throughput_per_s": 1e3 / mean if mean > 0 else float("inf")}


def compare(outputs: dict, ref_path: str, rtol: float | None, atol: float | None) -> list[dict]:
    try:
        with np.load(ref_path, allow_pickle=False) as z:
            ref = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise CLIError(f"--compare: no such file: {ref_path!r}") from None
    except (ValueError, OSError, EOFError) as e:
        raise CLIError(f"--compare: cannot read {ref_path!r} as .npz: {e}") from None
    return compare_arrays(outputs, ref, FILE_RTOL if rtol is None else rtol,
                          FILE_ATOL if atol is None else atol, "the reference")


def run(args) -> int:
    if args.executor is not None:
        set_executor(args.executor)
    out_path = None
    if args.output:
        if args.output.endswith(".gt"):
            raise UsageError(f"--output {args.output!r}: run writes the outputs as an .npz "
                             f"file, not a .gt archive; name an .npz file (graphtorch "
                             f"optimize -o writes archives)")
        out_path = output_path(args.output, args.model, "out.npz")
    prep = prepare_run(args)
    both = None
    if args.compare == "":
        both = executors_compared(prep, args.method, args.seed)
    result, times = time_runs(prep, args.warmup, args.iters, args.min_time, args.progress)
    outputs = flatten_outputs(result)
    doc: dict = {"model": args.model, "method": args.method, "device": str(prep.device),
                 "executor": get_executor(),
                 "inputs": {k: {"shape": list(v.shape), "dtype": str(v.dtype)}
                            for k, v in prep.arrays.items()},
                 "outputs": {k: {"shape": list(v.shape), "dtype": str(v.dtype)}
                             for k, v in outputs.items()},
                 "latency": latency_stats(times)}
    deadline.stop()      # the model ran in time; writing the outputs is not cut short
    if args.output:
        # NOTE: to exactly the path named (numpy.savez would append .npz), atomically; no
        # output is an object array (flatten_outputs), so nothing is pickled
        replace_file(out_path, lambda f: np.savez(f, **outputs))
        doc["output_file"] = args.output
    failed = []
    against = args.compare or "the interpreter"
    if both is not None:
        reference, planned, doc["plan"] = both
        doc["compare_with"] = "interpreter"
        doc["compare"] = compare_arrays(planned, reference, args.rtol, args.atol,
                                        "the interpreter")
    elif args.compare:
        doc["compare"] = compare(outputs, args.compare, args.rtol, args.atol)
    failed = [r for r in doc.get("compare", []) if not r["ok"]]
    if args.json:
        emit_json(doc)
    else:
        _print_report(doc, args)
    if failed:
        raise CLIError(failure_line(failed, against))
    return 0


def _print_report(doc: dict, args) -> None:
    for name, info in doc["inputs"].items():
        print(f"input  {name}: {info['dtype']}{info['shape']}")
    for name, info in doc["outputs"].items():
        print(f"output {name}: {info['dtype']}{info['shape']}")
    if args.output:
        print(f"wrote {args.output}")
    if "plan" in doc:
        print(f"compared: {doc['executor']} vs the interpreter")
        print(doc["plan"])
    for r in doc.get("compare", []):
        status = "ok" if r["ok"] else "MISMATCH"
        detail = r.get("error") or (f"max abs {r['max_abs_error']:.3g}, "
                                    f"max rel {r['max_rel_error']:.3g}; rtol {r['rtol']:g}, "
                                    f"atol {r['atol']:g}")
        print(f"compare {r['name']}: {status} ({detail})")
    lat = doc["latency"]
    if lat["runs"] > 1 or args.warmup:
        print(f"latency over {lat['runs']} runs ({doc['device']}): mean {lat['mean_ms']:.3f} ms, "
              f"p50 {lat['p50_ms']:.3f}, p90 {lat['p90_ms']:.3f}, p99 {lat['p99_ms']:.3f}, "
              f"min {lat['min_ms']:.3f} ms; throughput {lat['throughput_per_s']:.1f} runs/s")
    else:
        print(f"ran once in {lat['mean_ms']:.3f} ms ({doc['device']})")
