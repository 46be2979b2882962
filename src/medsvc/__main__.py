"""python -m medsvc runs the medsvc command."""

import sys

from medsvc.cli.main import main

sys.exit(main())
