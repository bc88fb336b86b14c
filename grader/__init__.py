"""Tutor-side grading: nbgrader pipeline, sandboxed kernels, trusted verdicts, reports."""
