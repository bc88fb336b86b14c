"""tools.report on a temporary results file, and tools.run_notebooks on two tiny
throw-away notebooks (one good, one failing) in a temporary tree; the course's own
notebooks are not run here."""
import json

import nbformat
import pytest

from tools import report, run_notebooks


# --------------------------------------------------------------------------- report

def row(text, key):
    """The table row of ``key`` in the report text, as a list of cells."""
    for line in text.splitlines():
        if line.startswith(f"| `{key}` |"):
            return [cell.strip() for cell in line.strip("|").split("|")]
    raise AssertionError(f"no row for {key}")


@pytest.fixture
def written(tmp_path):
    results = {
        "logistic_2v3_test_acc": 0.9812, "sklearn_logistic_2v3_test_acc": 0.9800,
        "logistic_2v8_test_acc": 0.9790, "sklearn_logistic_2v8_test_acc": 0.9700,
        "reg_l2_test_acc": 0.9701,
        "softmax_digits_test_acc": 0.97,
        "mlp_adam_test_acc": 0.9812, "mlp_relu_test_acc": 0.9801,
        "softmax_mnist_best_config": "L2, lambda=1e-4",
        "reg_l1_best_lambda": 0.001,
        "something_else": 3,
    }
    timings = {"02_logistic": {"seconds": 95.5, "status": "ok"},
               "05_mlp": {"seconds": 12.0, "status": "failed"}}
    (tmp_path / "results.json").write_text(json.dumps(results))
    (tmp_path / "timings.json").write_text(json.dumps(timings))
    out = tmp_path / "REPORT.md"
    code = report.main(["--results", str(tmp_path / "results.json"),
                        "--timings", str(tmp_path / "timings.json"), "--out", str(out)])
    assert code == 0
    return out.read_text()


def test_report_shows_values_references_and_targets(written):
    key, value, reference, target, status = row(written, "logistic_2v3_test_acc")
    assert value == "0.9812" and reference.startswith("0.9800")
    assert ">= 0.98" in target and "sklearn_logistic_2v3_test_acc" in target
    assert status == "pass"
    assert row(written, "mlp_rmsprop_test_acc")[2].startswith("0.7084")
    assert row(written, "mlp_wd_0.5_test_acc")[2].startswith("0.1135")
    assert row(written, "softmax_mnist_best_config")[1] == "L2, lambda=1e-4"
    assert row(written, "reg_l1_best_lambda")[1] == "0.001"
    assert row(written, "mlp_relu_test_acc")[4] == "-"  # shown, no target


def test_report_marks_misses(written):
    # 2v8: above its minimum but 0.009 away from the library: a miss.
    status = row(written, "logistic_2v8_test_acc")[4]
    assert status.startswith("**MISS**") and "+0.0090" in status
    assert row(written, "reg_l2_test_acc")[4].startswith("**MISS**")  # below 0.975
    assert row(written, "mlp_adam_test_acc")[4] == "pass"
    # a comparison key that was not run: neither pass nor invented
    assert row(written, "softmax_digits_test_acc")[4].startswith("unchecked")


def test_report_says_not_run_for_missing_keys(written):
    for key in ("softmax_mnist_full_test_acc", "mlp_best_test_acc", "mlp_wd_0_test_acc",
                "sklearn_mlp_test_acc"):
        cells = row(written, key)
        assert cells[1] == "not run" and cells[4] == "not run"
    assert "| `something_else` | 3 |" in written  # recorded but not a headline key


def test_report_lists_wall_times(written):
    assert "| `02_logistic` | 1 min 35.5 s | ok |" in written
    assert "| `05_mlp` | 12.0 s | failed |" in written
    assert "Total: 1 min 47.5 s for 2 notebook(s), within the 90 min budget" in written


def test_report_shows_mean_and_sd_over_seeds(tmp_path):
    results = {"mlp_momentum_test_acc": 0.9812, "mlp_momentum_test_acc_sd": 0.0007,
               "mlp_adam_test_acc": 0.9790, "mlp_adam_test_acc_sd": 0.0011,
               "mlp_lr_adam": 0.001, "mlp_wd_best_lambda": 0.0003}
    timings = {"05_mlp": {"seconds": 3000.0, "status": "ok"},
               "04_softmax": {"seconds": 2500.0, "status": "ok"}}
    (tmp_path / "r.json").write_text(json.dumps(results))
    (tmp_path / "t.json").write_text(json.dumps(timings))
    out = tmp_path / "R.md"
    assert report.main(["--results", str(tmp_path / "r.json"), "--timings",
                        str(tmp_path / "t.json"), "--out", str(out)]) == 0
    text = out.read_text()
    assert row(text, "mlp_momentum_test_acc")[1] == "0.9812 ± 0.0007"
    assert row(text, "mlp_momentum_test_acc")[4] == "pass"         # the mean meets 0.98
    assert row(text, "mlp_adam_test_acc")[4].startswith("**MISS**")  # the mean does not
    assert "_sd`" not in text                                        # folded into the rows
    assert row(text, "mlp_lr_adam")[1] == "0.001"                    # other numbers still listed
    assert row(text, "mlp_wd_best_lambda")[1] == "0.0003"
    assert row(text, "mlp_wd_0.5_test_acc")[4] == "not run - outside notebook 5's " \
        "weight-decay grid (1e-5 to 1e-2)"
    assert "Total: 91 min 40.0 s for 2 notebook(s), **over** the 90 min budget" in text


def test_report_without_results_file(tmp_path, capsys):
    out = tmp_path / "R.md"
    code = report.main(["--results", str(tmp_path / "none.json"), "--timings",
                        str(tmp_path / "none2.json"), "--out", str(out), "--strict"])
    assert code == 1
    text = out.read_text()
    assert all(row(text, t.key)[1] == "not run" for t in report.TARGETS)
    assert "not found" in capsys.readouterr().err


@pytest.mark.parametrize("content, says", [("{not json", "not valid JSON"),
                                            ("[1, 2]", "expected a JSON object")])
def test_report_refuses_a_corrupt_results_file(tmp_path, content, says):
    bad = tmp_path / "results.json"
    bad.write_text(content)
    out = tmp_path / "R.md"
    with pytest.raises(SystemExit) as exc:
        report.main(["--results", str(bad), "--timings", str(tmp_path / "none.json"),
                     "--out", str(out)])
    message = str(exc.value)
    assert str(bad) in message and says in message
    assert not out.exists()          # nothing half-written


def test_every_key_of_the_brief_is_in_the_table():
    keys = {t.key for t in report.TARGETS}
    expected = {"logistic_2v3_test_acc", "logistic_2v8_test_acc", "reg_l2_test_acc",
                "reg_l1_test_acc", "reg_l2_best_lambda", "reg_l1_best_lambda",
                "softmax_digits_test_acc", "softmax_mnist_protocol_test_acc",
                "softmax_mnist_full_test_acc", "softmax_mnist_best_config",
                "mlp_mse_sgd_test_acc", "mlp_mse_momentum_test_acc",
                "mlp_best_test_acc", "sklearn_mlp_test_acc"}
    expected |= {f"{k}_2v8" for k in ("reg_l2_test_acc", "reg_l1_test_acc",
                                      "reg_l2_best_lambda", "reg_l1_best_lambda")}
    expected |= {f"mlp_{a}_test_acc" for a in ("sigmoid", "tanh", "relu", "leaky_relu",
                                               "sgd", "momentum", "rmsprop", "adam")}
    expected |= {f"mlp_wd_{v}_test_acc" for v in ("0.5", "0.1", "0.01", "0.001", "0")}
    assert expected <= keys
    assert len(keys) == len(report.TARGETS)  # no duplicates


# --------------------------------------------------------------------------- runner

def make_notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def test_discover_sorted_and_only(tmp_path):
    for name in ("03_c/c.ipynb", "01_a/a.ipynb", "02_b/b.ipynb"):
        make_notebook(tmp_path / "solutions" / name, "1")
    found = run_notebooks.discover(tmp_path)
    assert [p.parent.name for p in found] == ["01_a", "02_b", "03_c"]
    assert run_notebooks.discover(tmp_path, only="02_b") == [found[1]]
    assert run_notebooks.discover(tmp_path, only="c") == [found[2]]
    with pytest.raises(ValueError, match="nope"):
        run_notebooks.discover(tmp_path, only="nope")


@pytest.mark.timeout(180)
def test_runner_executes_continues_past_failure_and_exits_nonzero(tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.setenv("COURSE_MODE", "full")  # restored after the test
    results_path = tmp_path / "build" / "results-quick.json"
    monkeypatch.setenv("COURSE_RESULTS", str(results_path))
    results_path.parent.mkdir()
    results_path.write_text('{"stale_key": 0.5}')
    make_notebook(tmp_path / "solutions" / "01_good" / "good.ipynb",
                  "import os, pathlib\nprint(os.environ['COURSE_MODE'])\n"
                  "print(pathlib.Path.cwd().name)",
                  "from helpers.results import record\nrecord('fresh_key', 0.25)")
    make_notebook(tmp_path / "solutions" / "02_bad" / "bad.ipynb",
                  "raise RuntimeError('deliberate failure')", "print('never')")
    code = run_notebooks.main(["--mode", "quick"], root=tmp_path)
    captured = capsys.readouterr()
    assert code == 1
    assert "02_bad" in captured.err and "deliberate failure" in captured.err
    build = tmp_path / "build"
    for name in ("01_good", "02_bad"):
        assert (build / "executed" / f"{name}.ipynb").is_file()
        assert (build / "html" / f"{name}.html").is_file()
    good = nbformat.read(build / "executed" / "01_good.ipynb", as_version=4)
    assert good.cells[0].outputs[0]["text"].split() == ["quick", "01_good"]
    bad = nbformat.read(build / "executed" / "02_bad.ipynb", as_version=4)
    assert bad.cells[0].outputs[0]["ename"] == "RuntimeError"
    timings = json.loads((build / "timings-quick.json").read_text())
    assert timings["01_good"]["status"] == "ok" and timings["02_bad"]["status"] == "failed"
    assert timings["01_good"]["seconds"] > 0
    assert str(build / "executed") in captured.out
    # the earlier results were moved aside; only this run's numbers remain
    assert json.loads(results_path.read_text()) == {"fresh_key": 0.25}
    assert json.loads((build / "results-quick.previous.json").read_text()) == \
        {"stale_key": 0.5}

    # --only reruns one notebook and keeps the other's timing
    assert run_notebooks.main(["--mode", "quick", "--only", "01_good"], root=tmp_path) == 0
    assert json.loads(results_path.read_text()) == {"fresh_key": 0.25}  # merged, kept
    assert set(json.loads((build / "timings-quick.json").read_text())) == {"01_good",
                                                                            "02_bad"}


def test_budget_notes_name_the_slow_notebooks():
    from tools.run_notebooks import QUICK_BUDGET_S, budget_notes

    assert budget_notes({"01": 5.0, "02": QUICK_BUDGET_S}) == []
    notes = budget_notes({"01": 5.0, "05": 31.5})
    assert len(notes) == 1 and "05 took 31.5 s" in notes[0]
    assert any("the run took 150 s" in n for n in budget_notes({f"0{i}": 30.0 for i in range(5)}))


def test_report_match_tolerance_is_inclusive_despite_rounding():
    """0.981 - 0.978 is 0.0030000000000000027 in floating point: six test images of 2,000,
    exactly the "within 0.003" the target allows, must pass."""
    from tools import report

    target = report.Target("a", match="b")
    assert report.check(target, {"a": 0.981, "b": 0.978})[0] == report.PASS
    assert report.check(target, {"a": 0.9815, "b": 0.978})[0] == report.MISS
