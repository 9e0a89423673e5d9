"""The ``graphtorch`` command (also ``python -m graphtorch``): run and inspect .gt archives.

``app.py`` parses the command line and runs one subcommand module (``inspect_cmd``, ``run_cmd``,
``profile_cmd``, ``viz_cmd``, ``optimize_cmd``); ``inputs.py`` reads input values, ``deadline.py``
enforces ``--timeout`` and ``errors.py`` holds what they all share. Conventions: docs/cli.md.
"""

from graphtorch.cli.app import build_parser, environment, main
from graphtorch.cli.errors import CLIError, UsageError, emit_json

__all__ = ["CLIError", "UsageError", "build_parser", "emit_json", "environment", "main"]
