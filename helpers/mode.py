"""The run mode every notebook reads in its first cell.

``COURSE_MODE=quick`` (the default: CI, lectures, nbval, grading) subsamples and trains
briefly; ``COURSE_MODE=full`` (``make reproduce``) gives the published numbers.
"""
import os

VARIABLE = "COURSE_MODE"
MODES = ("quick", "full")


def current():
    """Return ``"quick"`` or ``"full"`` from ``$COURSE_MODE`` (default quick)."""
    value = os.environ.get(VARIABLE, "quick").strip().lower() or "quick"
    if value not in MODES:
        raise ValueError(f"${VARIABLE} is {value!r}; expected one of {', '.join(MODES)}")
    return value


def is_full():
    """True when the notebook should produce the published (full-mode) numbers."""
    return current() == "full"


def pick(quick, full):
    """Return ``quick`` in quick mode and ``full`` in full mode."""
    return full if is_full() else quick
