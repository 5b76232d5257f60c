"""``python -m bench [--quick] [--extras] [--write]``: the suite, printed (see bench/run.py)."""

import sys

from bench.run import main

sys.exit(main())
