"""``python -m grader.nbgrader_run ARGS``: the ``nbgrader`` command, started and ended faster.

Every grading step runs nbgrader in a process of its own (grader.pipeline.run_nbgrader),
so what nbgrader costs before and after its work is paid once per submission:

- Importing nbgrader imports nbformat, whose validator imports jsonschema, which imports
  the optional ``rfc3987_syntax`` when it is installed (jupyter_server's dependencies
  install it). That module compiles an Earley grammar for IRIs at import time: 1.5-4 s
  of every nbgrader start on the shared 2-core machine, more than the rest of nbgrader's
  start-up together. Neither nbformat nor nbgrader checks the ``iri`` string formats, so
  this entry point marks the module as absent (jsonschema then skips those two format
  checks, as it does wherever the module is not installed).
- Tearing down an interpreter that has imported nbgrader, nbconvert, SQLAlchemy and
  jupyter_client takes most of a second. Once nbgrader's command has returned (every
  file written and closed, every gradebook session closed, the kernel shut down), this
  entry point flushes the log handlers and the standard streams and ends the process
  with nbgrader's exit status (``os._exit``).

Nothing else differs from ``python -m nbgrader``; an exception nbgrader does not handle
ends the process the usual way, traceback included.
"""
import logging
import os
import sys

SLOW_OPTIONAL_MODULES = ("rfc3987_syntax",)


def main(argv=None):
    for name in SLOW_OPTIONAL_MODULES:
        sys.modules.setdefault(name, None)      # `import name` now raises ImportError
    from nbgrader.apps.nbgraderapp import NbGraderApp

    if argv is not None:
        sys.argv = ["nbgrader", *argv]
    try:
        NbGraderApp.launch_instance()
        status = 0
    except SystemExit as exc:
        code = exc.code
        status = code if isinstance(code, int) else (0 if code is None else 1)
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
