"""The ``graphtorch`` command line: parser, subcommand dispatch, exit codes and ``env``.

Conventions (docs/cli.md): exit 0 on success, 2 for usage errors, 1 for model or data errors,
124 past ``--timeout``, 130 on Ctrl-C, each reported as one ``graphtorch <command>: error: ...``
line on stderr with no traceback unless ``--debug``; a closed stdout (``| head``) ends the command
quietly with 141 (128 + SIGPIPE, as a shell reports ``cat`` killed by SIGPIPE). ``--json`` prints
one JSON document on stdout for machines.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import traceback
import warnings
from collections.abc import Sequence
from importlib import metadata
from typing import NoReturn

import numpy as np

import graphtorch
from graphtorch.cli import (
    cache_cmd,
    deadline,
    inspect_cmd,
    optimize_cmd,
    profile_cmd,
    run_cmd,
    viz_cmd,
)
from graphtorch.cli.errors import CLIError, UsageError, emit_json
from graphtorch.device import cuda_is_available
from graphtorch.runtime import c_backend

EXIT_CLOSED_PIPE = 141    # 128 + SIGPIPE


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line (``prog: error: message``), exit 2."""

    commands: dict[str, argparse.ArgumentParser] = {}

    def error(self, message: str) -> NoReturn:
        line = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {line} (see {self.prog} --help)\n")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON document for machines")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="graphtorch", description="Run, inspect, profile and draw graphtorch .gt archives.")
    parser.add_argument("--version", action="version",
                        version=f"graphtorch {graphtorch.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    parser.commands = sub.choices       # name -> subparser, for errors named after the command
    env = sub.add_parser("env", help="versions, devices, Triton/CuPy availability")
    _common(env)
    env.set_defaults(handler=cmd_env)
    for module in (inspect_cmd, run_cmd, profile_cmd, viz_cmd, optimize_cmd, cache_cmd):
        p = module.add_parser(sub)
        _common(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()          # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        return _closed_pipe()
    except KeyboardInterrupt:       # before a command runs (importing, building the parser)
        print("graphtorch: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - before a command runs (building the parser)
        print(f"graphtorch: error: internal error ({type(e).__name__}: "
              f"{' '.join(str(e).split())}); please report it", file=sys.stderr)
        return 1
    return code


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    # usage errors exit 2 with one line (_Parser.error), named after the subcommand
    args, extra = parser.parse_known_args(argv)
    if extra:
        command = getattr(args, "command", None)
        parser.commands.get(command, parser).error(f"unrecognized arguments: {' '.join(extra)}")
    with warnings.catch_warnings():
        if not args.debug:
            warnings.showwarning = _one_line_warning(args.command)
        return _run_command(args)


def _one_line_warning(command: str):
    """Warnings as one ``graphtorch <command>: warning: ...`` line each (``--debug``: Python's
    own two-line form with the source line)."""
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = " ".join(str(message).split())
        print(f"graphtorch {command}: warning: {category.__name__}: {text}",
              file=file or sys.stderr)

    return show


def _run_command(args) -> int:
    timeout = getattr(args, "timeout", None)
    if timeout is not None:
        deadline.start(timeout, f"graphtorch {args.command}: error: timed out after "
                                    f"{timeout:g} s (--timeout {timeout:g})")
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:
        raise
    except deadline.Timeout as e:
        return _fail(args, e, deadline.EXIT_TIMEOUT, prefixed=True)
    except UsageError as e:
        return _fail(args, e, 2)
    except (CLIError, graphtorch.errors.GraphtorchError, OSError, ValueError) as e:
        return _fail(args, e, 1)
    except KeyboardInterrupt:
        print(f"graphtorch {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError as e:
        return _fail(args, CLIError("out of memory; try smaller inputs"), 1, cause=e)
    except Exception as e:  # noqa: BLE001 - a bug still gets one line (and --debug shows it)
        return _fail(args, _Internal(f"internal error ({type(e).__name__}: {e}); rerun with "
                                     "--debug for the traceback and please report it"), 1,
                     cause=e)
    finally:
        deadline.stop()


def _closed_pipe() -> int:
    """The reader of stdout went away (``graphtorch inspect m.gt | head -1``): stop quietly.
    stdout is pointed at /dev/null so that the interpreter's final flush does not print
    "Exception ignored ... BrokenPipeError"."""
    deadline.stop()
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return EXIT_CLOSED_PIPE


class _Internal(Exception):
    pass


def _fail(args, error: BaseException, code: int, cause: BaseException | None = None,
          prefixed: bool = False) -> int:
    if args.debug:
        shown = cause or error
        traceback.print_exception(type(shown), shown, shown.__traceback__)
    message = " ".join(str(error).split())   # one line, whatever the exception's layout
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        message = " ".join(f"{error.strerror}: {error.filename!r}".split())
    if not prefixed:
        message = f"graphtorch {args.command}: error: {message}"
    print(message, file=sys.stderr)
    return code


# -- env ---------------------------------------------------------------------------------------
def environment() -> dict:
    info: dict = {"graphtorch": graphtorch.__version__, "python": platform.python_version(),
                  "platform": platform.platform(), "numpy": np.__version__}
    for name in ("triton", "cupy", "torch", "safetensors", "lark"):
        info[name] = _version_of(name)
    devices = ["cpu"]

    cuda = cuda_is_available()
    if cuda:
        n = graphtorch.cuda.device_count()
        devices += [f"cuda:{i}" for i in range(n)]
    info["devices"] = devices
    info["cuda_available"] = cuda
    info["triton_available"] = info["triton"] is not None
    info["cupy_available"] = info["cupy"] is not None
    info["dot_available"] = _which("dot") is not None

    info["cpu_backend"] = c_backend.backend_name()  # compiled kernels: C, or numpy without cc
    return info


def _version_of(dist: str) -> str | None:
    names = {"cupy": ("cupy", "cupy-cuda12x", "cupy-cuda13x", "cupy-cuda11x")}.get(dist, (dist,))
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _which(exe: str) -> str | None:
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
