"""``python -m adlip ...``: see ``adlip.cli``."""
import sys

from adlip.cli import main

sys.exit(main())
