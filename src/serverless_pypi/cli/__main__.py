"""``python -m serverless_pypi.cli``."""

import sys

from serverless_pypi.cli import main

sys.exit(main())
