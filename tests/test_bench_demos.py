"""bench.demos: the lecture demos' redraw times that make bench reports come from the
browser test's build/browser/timings.json, read as written, against the 0.5 s target."""
import json

from bench import demos

TIMINGS = {
    "harness/slider.ipynb": {"demos": [{"slider": "period", "redraw_seconds": [0.1, 0.1]}]},
    "01_derivations/derivations.ipynb": {"open_seconds": 8.0, "run_all_seconds": 4.0},
    "02_logistic/logistic.ipynb": {
        "run_all_seconds": 13.0, "measured_at": "2026-12-01 12:00", "loadavg": 2.5,
        "demos": [{"slider": "learning rate", "redraw_seconds": [0.31, 0.28],
                   "wall_seconds": [0.6, 0.6]},
                  {"slider": "step size", "redraw_seconds": [0.42, 0.55],
                   "wall_seconds": [0.8, 0.8]}]},
    # written before the page timed redraws: wall times under the old name, no load
    "05_mlp/mlp.ipynb": {"demos": [{"slider": "Learning rate", "redraw_seconds": [0.8]}]},
}


def test_rows_per_demo_against_the_target(tmp_path):
    path = tmp_path / "timings.json"
    path.write_text(json.dumps(TIMINGS))
    rows = demos.read(path)
    assert [(r["notebook"], r["demo"], r["slider"]) for r in rows] == [
        ("02_logistic/logistic.ipynb", 0, "learning rate"),
        ("02_logistic/logistic.ipynb", 1, "step size"),
        ("05_mlp/mlp.ipynb", 0, "Learning rate")]                # harness and 01 left out
    assert rows[0]["redraw_seconds"] == [0.31, 0.28] and rows[0]["worst"] == 0.31
    assert [r["within_target"] for r in rows] == [True, False, False]
    assert rows[0]["loadavg"] == 2.5 and rows[2]["wall_seconds"] is None
    table = demos.format_table(rows, path)
    assert "0.31, 0.28 s, wall 0.60, 0.60  ok  (2026-12-01 12:00, load 2.5)" in table
    assert "0.42, 0.55 s" in table and "OVER the target" in table
    assert f"target <= {demos.TARGET_S:g} s" in table


def test_missing_file_says_how_to_measure(tmp_path, capsys):
    rows = demos.report(path=tmp_path / "absent.json")
    assert rows == []
    out = capsys.readouterr().out
    assert "no redraw timings" in out and "tests/test_browser.py" in out


def test_report_adds_the_rows_to_the_benchmark_json(tmp_path, capsys):
    path = tmp_path / "timings.json"
    path.write_text(json.dumps(TIMINGS))
    bench_json = tmp_path / "bench.json"
    bench_json.write_text(json.dumps({"helpers_epoch_s": 1.0}))
    result = {"output": str(bench_json)}
    rows = demos.report(result, path=path)
    written = json.loads(bench_json.read_text())
    assert written["helpers_epoch_s"] == 1.0                    # the benchmark's keys kept
    assert written["demo_redraws"]["demos"] == rows and len(rows) == 3
    assert written["demo_redraws"]["target_s"] == 0.5
    assert result["demo_redraws"] == written["demo_redraws"]
    assert "02_logistic/logistic.ipynb demo 1 (step size)" in capsys.readouterr().out
