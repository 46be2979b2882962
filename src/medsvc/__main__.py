"""python -m medsvc runs the medsvc command."""

import sys

from medsvc.cli import main

sys.exit(main())
