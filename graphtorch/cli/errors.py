"""What every subcommand shares: the two error kinds (exit 1 and 2) and the ``--json`` printer."""

from __future__ import annotations

import json
import sys


class CLIError(Exception):
    """A model or data problem the user can fix (exit 1)."""


class UsageError(Exception):
    """Arguments that parse but do not make sense together (exit 2)."""


def emit_json(doc: dict) -> None:
    json.dump(doc, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")
