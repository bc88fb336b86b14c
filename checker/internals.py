"""The one list of the grading machinery's internals, for the grader's static flags.

A solution cell may call what a test cell imports (:data:`PUBLIC`); anything else it
names inside :data:`PACKAGES` (the checker's wire format, runner, judge, exercises, or
the grader) is tampering with the grading machinery, and ``grader.flags`` flags it.
"""
#: What a test cell imports from the checker: the only names of it a solution may use.
PUBLIC = ("checker.check", "checker.CheckFailed")
#: The grading machinery: the checker (run in the student's kernel) and the grader.
PACKAGES = ("checker", "grader")


def is_internal(dotted):
    """True when the dotted name ``dotted`` (``checker.wire.emit``, ``grader``) lies inside
    the grading machinery and is neither in PUBLIC nor the bare package ``checker`` a test
    cell imports them from."""
    if dotted in PUBLIC or dotted == "checker":
        return False
    return any(dotted == package or dotted.startswith(package + ".") for package in PACKAGES)
