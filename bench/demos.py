"""The lecture demos' redraw times, for ``make bench``: read from the browser test's record.

``tests/test_browser.py`` runs every solution notebook in JupyterLab in a real Chromium,
presses ArrowRight twice on each lecture demo's first slider and writes, per notebook,
``build/browser/timings.json``: for each demo the slider's label, ``redraw_seconds`` (the
page's own clock, from the key press to the new picture decoded) and ``wall_seconds``
(until the test's 0.2 s polling saw it with the kernel idle), with the load average and
the time of the measurement. Nothing is measured here (a browser run takes minutes and
needs Chromium): :func:`report` reads that file, prints one line per demo against
:data:`TARGET_S` (the README's "at most 0.5 s per move") and adds the rows to the
benchmark's JSON under ``demo_redraws``. A missing file is reported with the command that
writes it.
"""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMINGS = ROOT / "build" / "browser" / "timings.json"
#: Seconds a redraw may take at most (README, lecturer section).
TARGET_S = 0.5
COMMAND = "python -m pytest tests/test_browser.py -k solution_notebook"


def read(path=TIMINGS):
    """One row per demo of every notebook in the timings file, or [] if there is none.

    A row: notebook, demo (index), slider, redraw_seconds and wall_seconds (one per move;
    wall_seconds None in files written before the page timed the redraws), worst (the
    largest redraw), within_target, measured_at and loadavg (None if not recorded).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except ValueError as exc:
        raise ValueError(f"{path}: not a timings file ({exc})") from None
    rows = []
    for notebook, entry in sorted(data.items()):
        if not isinstance(entry, dict) or notebook.startswith("harness/"):
            continue
        for i, demo in enumerate(entry.get("demos", [])):
            seconds = [float(s) for s in demo.get("redraw_seconds", [])]
            if not seconds:
                continue
            walls = demo.get("wall_seconds")
            rows.append({"notebook": notebook, "demo": i, "slider": demo.get("slider", ""),
                         "redraw_seconds": seconds,
                         "wall_seconds": [float(s) for s in walls] if walls else None,
                         "worst": max(seconds), "within_target": max(seconds) <= TARGET_S,
                         "measured_at": entry.get("measured_at"),
                         "loadavg": entry.get("loadavg")})
    return rows


def format_table(rows, path=TIMINGS):
    """The printed summary: a line per demo, its redraw seconds per move and the target."""
    if not rows:
        return (f"lecture demos: no redraw timings in {path}; `{COMMAND}` "
                "(Chromium) measures and records them")
    lines = [f"lecture demos, redraw per slider move (browser test, {path}; target "
             f"<= {TARGET_S:g} s):"]
    for row in rows:
        moves = ", ".join(f"{s:.2f}" for s in row["redraw_seconds"])
        walls = (", wall " + ", ".join(f"{s:.2f}" for s in row["wall_seconds"])
                 if row["wall_seconds"] else "")
        when = ""
        if row["measured_at"] or row["loadavg"] is not None:
            load = (f", load {row['loadavg']:.1f}" if row["loadavg"] is not None else "")
            when = f"  ({row['measured_at'] or 'time not recorded'}{load})"
        lines.append(f"  {row['notebook']} demo {row['demo']} ({row['slider']}): {moves} s"
                     f"{walls}  {'ok' if row['within_target'] else 'OVER the target'}{when}")
    return "\n".join(lines)


def report(result=None, path=TIMINGS):
    """Print the demos' redraw times; with ``result`` (what ``bench.speed.main`` returns),
    also add them to the JSON file it wrote (``result["output"]``) under
    ``"demo_redraws"``. Returns the rows (a list, empty without a timings file)."""
    rows = read(path)
    print(format_table(rows, path))
    if result is not None and result.get("output"):
        output = Path(result["output"])
        written = json.loads(output.read_text(encoding="utf-8"))
        written["demo_redraws"] = {"source": str(path), "target_s": TARGET_S, "demos": rows}
        output.write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")
        result["demo_redraws"] = written["demo_redraws"]
    return rows


if __name__ == "__main__":
    report()
