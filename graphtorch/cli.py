"""The ``graphtorch`` command (also ``python -m graphtorch``): run and inspect .gt archives.

Conventions (docs/cli.md): exit 0 on success, 2 for usage errors (argparse's own), 1 for model
or data errors, reported as one ``graphtorch <command>: error: ...`` line on stderr with no
traceback unless ``--debug``. ``--json`` prints one JSON document on stdout for machines.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import graphtorch


class CLIError(Exception):
    """A model or data problem the user can fix (exit 1)."""


class UsageError(Exception):
    """Arguments that parse but do not make sense together (exit 2)."""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON document for machines")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")


def build_parser() -> argparse.ArgumentParser:
    from graphtorch import cli_inspect, cli_optimize, cli_profile, cli_run, cli_viz

    parser = argparse.ArgumentParser(
        prog="graphtorch", description="Run, inspect, profile and draw graphtorch .gt archives.")
    parser.add_argument("--version", action="version",
                        version=f"graphtorch {graphtorch.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    env = sub.add_parser("env", help="versions, devices, Triton/CuPy availability")
    _common(env)
    env.set_defaults(handler=cmd_env)
    for module in (cli_inspect, cli_run, cli_profile, cli_viz, cli_optimize):
        p = module.add_parser(sub)
        _common(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)   # exits 2 with argparse's usage message on bad usage
    try:
        return int(args.handler(args) or 0)
    except UsageError as e:
        return _fail(args, e, 2)
    except (CLIError, graphtorch.errors.GraphtorchError, OSError, ValueError) as e:
        return _fail(args, e, 1)
    except KeyboardInterrupt:
        print(f"graphtorch {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a bug still gets one line (and --debug shows it)
        return _fail(args, _Internal(f"internal error ({type(e).__name__}: {e}); rerun with "
                                     "--debug for the traceback and please report it"), 1,
                     cause=e)


class _Internal(Exception):
    pass


def _fail(args, error: BaseException, code: int, cause: BaseException | None = None) -> int:
    if args.debug:
        import traceback

        shown = cause or error
        traceback.print_exception(type(shown), shown, shown.__traceback__)
    message = " ".join(str(error).split())   # one line, whatever the exception's layout
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        message = f"{error.strerror}: {error.filename!r}"
    print(f"graphtorch {args.command}: error: {message}", file=sys.stderr)
    return code


def emit_json(doc: dict) -> None:
    json.dump(doc, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


# -- env ---------------------------------------------------------------------------------------
def environment() -> dict:
    import platform

    import numpy as np

    info: dict = {"graphtorch": graphtorch.__version__, "python": platform.python_version(),
                  "platform": platform.platform(), "numpy": np.__version__}
    for name in ("triton", "cupy", "torch", "safetensors", "lark"):
        info[name] = _version_of(name)
    devices = ["cpu"]
    from graphtorch.device import cuda_is_available

    cuda = cuda_is_available()
    if cuda:
        n = graphtorch.cuda.device_count()
        devices += [f"cuda:{i}" for i in range(n)]
    info["devices"] = devices
    info["cuda_available"] = cuda
    info["triton_available"] = info["triton"] is not None
    info["cupy_available"] = info["cupy"] is not None
    info["dot_available"] = _which("dot") is not None
    return info


def _version_of(dist: str) -> str | None:
    from importlib import metadata

    names = {"cupy": ("cupy", "cupy-cuda12x", "cupy-cuda13x", "cupy-cuda11x")}.get(dist, (dist,))
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _which(exe: str) -> str | None:
    import shutil

    return shutil.which(exe)


def cmd_env(args) -> int:
    info = environment()
    if args.json:
        emit_json(info)
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        if isinstance(value, list):
            value = ", ".join(value)
        elif value is None:
            value = "not installed"
        print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
