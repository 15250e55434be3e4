"""`python -m bot.cli`: the `vendorban` command."""

import sys

from bot.cli.program import main

sys.exit(main())
