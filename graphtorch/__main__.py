"""``python -m graphtorch``: the same command as ``graphtorch``."""

import sys

from graphtorch.cli import main

sys.exit(main())
