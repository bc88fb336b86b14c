"""`python -m grader release|autograde|feedback|export` (see grader.cli)."""
import sys

from grader.cli import main

sys.exit(main())
