"""`python -m grader release|autograde|feedback|export` (see grader.cli)."""
import sys

# nbgrader's import pulls in an optional IRI grammar that takes seconds to build
# (grader/nbgrader_run.py); no step of the pack needs it.
sys.modules.setdefault("rfc3987_syntax", None)

from grader.cli import main  # noqa: E402

sys.exit(main())
