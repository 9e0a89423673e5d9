"""``python -m graphtorch``: the same command as ``graphtorch``."""

import sys

try:
    from graphtorch.cli import main
except KeyboardInterrupt:      # Ctrl-C while importing: one line, as everywhere in the command
    print("graphtorch: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
