"""Run every solution notebook headless: ``python -m tools.run_notebooks --mode quick|full``.

Discovers ``solutions/*/*.ipynb`` (sorted), executes each with nbclient (kernel
``python3``, working directory = the notebook's folder, ``COURSE_MODE`` set), and
writes ``build/executed/<assignment>.ipynb``, ``build/html/<assignment>.html`` and the
wall time of each notebook into ``build/timings-<mode>.json`` (merged, so ``--only``
keeps the others). The HTML needs no network: its maths is rendered to MathML while
exporting (``tools.offline_html``), not loaded from a CDN, so a page opened offline or
on another machine shows the equations. A failing notebook is still written (with its
traceback) and the run goes on; the exit code is non-zero and the failures are listed
at the end.
Headline numbers go to ``$COURSE_RESULTS`` if set, else ``build/results.json`` (full)
or ``build/results-quick.json`` (quick); a run of every notebook (no ``--only``) first
moves the earlier results and timings aside to ``*.previous.json``, so the report can
only show numbers measured in this run. ``make demo`` runs quick mode; ``make
reproduce`` runs full mode, then ``tools.report``.
"""
import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERNEL = "python3"
# Per-cell limits in seconds (a hung cell, not a budget): full mode trains the published
# models on all of MNIST on 2 cores.
CELL_TIMEOUT = {"quick": 600, "full": 4 * 3600}
# What quick mode promises lecturers (README): each notebook within this many seconds on
# a 2-core machine, all of them within QUICK_TOTAL_S. A run says so when it is over.
QUICK_BUDGET_S = 30
QUICK_TOTAL_S = 120


def discover(root=ROOT, only=None):
    """Sorted ``solutions/*/*.ipynb`` under ``root``; ``only`` keeps the notebooks whose
    assignment folder or file stem equals it. ValueError if ``only`` matches nothing."""
    notebooks = sorted(p for p in (Path(root) / "solutions").glob("*/*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts)
    if only is not None:
        notebooks = [p for p in notebooks if only in (p.parent.name, p.stem)]
        if not notebooks:
            raise ValueError(f"--only {only!r} matches no notebook in {root}/solutions/*/")
    return notebooks


def output_name(notebook, notebooks):
    """``<assignment>``, or ``<assignment>-<stem>`` if the folder holds several."""
    siblings = [p for p in notebooks if p.parent == notebook.parent]
    return notebook.parent.name if len(siblings) == 1 else \
        f"{notebook.parent.name}-{notebook.stem}"


def execute(notebook, mode, executed_path, html_path):
    """Execute one notebook; write the executed copy and its HTML even if it fails.

    Returns (ok: bool, error: str or None).
    """
    import nbformat
    from nbclient import NotebookClient

    from grader import kernels

    nb = nbformat.read(notebook, as_version=4)
    # A local kernel: ipc sockets in a private folder, not TCP (grader.kernels says why).
    km, folder = kernels.ipc_kernel_manager(KERNEL)
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT[mode], kernel_name=KERNEL,
                            resources={"metadata": {"path": str(notebook.parent)}})
    ok, error = True, None
    try:
        client.execute(cleanup_kc=True)     # we made the manager: shut its kernel down
    except Exception as exc:  # CellExecutionError, timeouts, a dead kernel: report all
        # CellExecutionError carries the kernel's exception name and value; the full
        # traceback stays in the executed notebook.
        ok = False
        error = f"{getattr(exc, 'ename', type(exc).__name__)}: " \
                f"{getattr(exc, 'evalue', exc)}".strip()
    finally:
        kernels.remove(folder)
    executed_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, executed_path)
    try:
        write_html(nb, html_path)
    except Exception:  # the HTML is a convenience; a broken export must not hide results
        ok = False
        error = (error + "\n" if error else "") + "HTML export failed:\n" + \
            traceback.format_exc(limit=3)
    return ok, error


def write_html(nb, html_path):
    """Export ``nb`` (a NotebookNode) to the self-contained HTML page ``html_path``: maths
    pre-rendered to MathML, no MathJax from a CDN (``tools.offline_html``)."""
    from tools.offline_html import OfflineHTMLExporter

    body, _ = OfflineHTMLExporter().from_notebook_node(nb)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def budget_notes(seconds_by_name):
    """Lines saying which quick-mode notebooks (and whether the whole run) went over the
    budget the README promises; empty when all are within it."""
    notes = [f"NOTE: {name} took {sec:.1f} s, over the {QUICK_BUDGET_S} s quick-mode budget "
             "(a loaded machine, or a quick size to shrink)"
             for name, sec in seconds_by_name.items() if sec > QUICK_BUDGET_S]
    total = sum(seconds_by_name.values())
    if len(seconds_by_name) > 1 and total > QUICK_TOTAL_S:
        notes.append(f"NOTE: the run took {total:.0f} s, over the {QUICK_TOTAL_S} s quick-mode budget")
    return notes


def _merge_timings(path, new):
    """Merge ``new`` into the JSON file at ``path`` (atomically)."""
    timings = {}
    if path.exists():
        try:
            timings = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            timings = {}
    timings.update(new)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(timings, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def main(argv=None, root=ROOT):
    """Run the notebooks; returns the exit code (0 only if every notebook ran)."""
    parser = argparse.ArgumentParser(prog="python -m tools.run_notebooks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("quick", "full"), default="quick")
    parser.add_argument("--only", metavar="NAME",
                        help="run only this assignment (e.g. 02_logistic) or notebook stem")
    args = parser.parse_args(argv)
    root = Path(root)
    try:
        notebooks = discover(root, args.only)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not notebooks:
        print(f"error: no notebooks found in {root}/solutions/*/", file=sys.stderr)
        return 2

    build = root / "build"
    build.mkdir(exist_ok=True)
    timings_path = build / f"timings-{args.mode}.json"
    results_name = "results.json" if args.mode == "full" else "results-quick.json"
    results_path = Path(os.environ.get("COURSE_RESULTS", "").strip() or build / results_name)
    # The kernels inherit this process's environment: the mode, and where to record.
    os.environ["COURSE_MODE"] = args.mode
    os.environ["COURSE_RESULTS"] = str(results_path)
    if args.only is None:
        # A run of every notebook starts afresh, so no number from an earlier run can
        # pass for a new one; the old files are kept beside as *.previous.json.
        for stale in (results_path, timings_path):
            if stale.exists():
                previous = stale.with_name(f"{stale.stem}.previous{stale.suffix}")
                os.replace(stale, previous)
                print(f"Moved the earlier {stale.name} to {previous.name}")
    failures = []
    seconds_by_name = {}
    for notebook in notebooks:
        name = output_name(notebook, notebooks)
        executed = build / "executed" / f"{name}.ipynb"
        html = build / "html" / f"{name}.html"
        print(f"[{args.mode}] {notebook.relative_to(root)} ...", flush=True)
        start = time.perf_counter()
        ok, error = execute(notebook, args.mode, executed, html)
        seconds = time.perf_counter() - start
        seconds_by_name[name] = seconds
        _merge_timings(timings_path, {name: {"seconds": round(seconds, 2),
                                             "status": "ok" if ok else "failed"}})
        print(f"    {'ok' if ok else 'FAILED'} in {seconds:.1f} s -> "
              f"{executed.relative_to(root)}, {html.relative_to(root)}", flush=True)
        if not ok:
            failures.append((name, error))
            print("    " + error.splitlines()[0][:300] if error else "", flush=True)

    print(f"\nExecuted notebooks: {build / 'executed'}\nHTML: {build / 'html'}\n"
          f"Timings: {timings_path}")
    if args.mode == "quick":
        for line in budget_notes(seconds_by_name):
            print(line)
    if results_path.exists():
        print(f"Results: {results_path}")
    if failures:
        print(f"\n{len(failures)} of {len(notebooks)} notebook(s) failed:", file=sys.stderr)
        for name, error in failures:
            print(f"  {name}: {(error or '').splitlines()[0][:300]}", file=sys.stderr)
        return 1
    print(f"All {len(notebooks)} notebook(s) ran in {args.mode} mode.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
