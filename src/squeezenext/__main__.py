"""``python -m squeezenext``: the command line."""

import sys

from squeezenext.cli import main

sys.exit(main())
