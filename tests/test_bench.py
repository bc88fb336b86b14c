"""Structure of the speed benchmark on a tiny size (``python -m bench --quick``).

Speed itself is only ever measured by ``make bench``; nothing here asserts a timing."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from bench import speed
from helpers import mlp

TIMINGS = ["matmul_gflops", "helpers_epoch_s", "helpers_adam_epoch_s", "plain_epoch_s",
           "products_epoch_s", "sklearn_epoch_s", "helpers_gflops", "fraction_of_peak",
           "fraction_of_peak_median", "plain_fraction_of_peak", "products_fraction_of_peak",
           "helpers_over_plain", "helpers_over_plain_median", "products_over_plain",
           "products_over_plain_median", "adam_over_sgd", "speedup_vs_sklearn"]


def _positive(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_flop_count_worked_by_hand():
    # layers 2x3 and 3x4 (6 + 12 weights), 10 images: forward 2*10*18, dW 2*10*18, and dh
    # for the second layer only (2*10*12): nothing computes dL/dX of the input layer
    assert speed.epoch_flops(10, (2, 3, 4)) == 360 + 360 + 240 == 6 * 10 * 18 - 2 * 10 * 6
    weights = 784 * 500 + 500 * 250 + 250 * 100 + 100 * 10
    assert speed.epoch_flops(60_000) == 6 * 60_000 * weights - 2 * 60_000 * 784 * 500
    assert round(speed.epoch_flops(60_000) / 1e9, 1) == 148.4


def test_plain_loop_is_the_same_sgd_as_helpers():
    """The plain peer trains the same network the same way: same initial weights, same
    shuffled order (seed r), same updates; only float32 rounding may differ."""
    rng = np.random.default_rng(0)
    sizes = (12, 9, 7, 5)
    X = rng.standard_normal((50, 12), dtype=np.float32)
    y = rng.integers(0, 5, 50)
    model = mlp.MLP(sizes, activation="relu", seed=0)
    Ws = [model.params[f"W{i}"].copy() for i in (1, 2, 3)]
    bs = [model.params[f"b{i}"].copy() for i in (1, 2, 3)]
    speed.plain_epoch(Ws, bs, X, y, np.random.default_rng(5).permutation(50), 0.1, 16)
    mlp.train(model, X, y, optimizer="sgd", learning_rate=0.1, epochs=1, batch_size=16,
              eval_every=None, n_eval_train=0, seed=5, progress=False)
    for i in (1, 2, 3):
        assert Ws[i - 1].dtype == np.float32
        np.testing.assert_allclose(Ws[i - 1], model.params[f"W{i}"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bs[i - 1], model.params[f"b{i}"], rtol=1e-5, atol=1e-6)
        assert not np.array_equal(Ws[i - 1], mlp.MLP(sizes, seed=0).params[f"W{i}"])


def _matmul_calls(monkeypatch):
    """Record the (a.shape, b.shape) of every 2-D np.matmul call from now on."""
    calls, matmul = [], np.matmul

    def recording(a, b, *args, **kwargs):
        if np.ndim(a) == 2 and np.ndim(b) == 2:
            calls.append((np.shape(a), np.shape(b)))
        return matmul(a, b, *args, **kwargs)
    monkeypatch.setattr(np, "matmul", recording)
    return calls


def test_products_alone_are_the_products_of_a_helpers_epoch(monkeypatch):
    """The floor times exactly the matrix products helpers' epoch makes (same shapes,
    the same number of calls, a short last batch included), and their flops are the
    epoch_flops of the fraction of peak."""
    sizes, n = (12, 9, 7, 5), 70                      # batches of 32, 32 and 6
    X, y = speed.synthetic_data(n, sizes)
    calls = _matmul_calls(monkeypatch)
    mlp.train(mlp.MLP(sizes, seed=0), X, y, epochs=1, batch_size=32, eval_every=None,
              n_eval_train=0, progress=False)
    helpers_calls, calls[:] = list(calls), []
    speed.products_timer(X, y, sizes, batch_size=32)(0)
    assert sorted(calls) == sorted(helpers_calls) and len(calls) == 3 * (3 + 3 + 2)
    assert sum(2 * a[0] * a[1] * b[1] for a, b in calls) == speed.epoch_flops(n, sizes)


def test_a_target_is_met_only_when_best_and_median_both_meet_it():
    out = {"helpers_over_plain": 0.99, "helpers_over_plain_median": 0.74,
           "fraction_of_peak": 0.66, "fraction_of_peak_median": 0.70}
    checks = speed.targets_met(out)
    assert checks["helpers_over_plain"] == {"target": 0.83, "kind": "at most", "best": 0.99,
                                            "median": 0.74, "best_met": False,
                                            "median_met": True, "met": False}
    assert checks["fraction_of_peak"]["met"] is True
    assert speed._verdict(checks["fraction_of_peak"]) == "met"
    assert "only the median meets it" in speed._verdict(checks["helpers_over_plain"])
    out.update(fraction_of_peak=0.5, fraction_of_peak_median=0.6)
    assert speed._verdict(speed.targets_met(out)["fraction_of_peak"]) == "NOT met"


def test_quick_run_writes_every_key(tmp_path):
    out = tmp_path / "bench.json"
    result = speed.run(quick=True, output=out, images=128, repeats=1)
    written = json.loads(out.read_text())
    for part in (written, written["single_thread"]):
        for key in TIMINGS:
            assert _positive(part[key]), f"{key} = {part[key]!r}"
        assert part["torch_epoch_s"] is None or _positive(part["torch_epoch_s"])
        assert part["fraction_of_peak"] == pytest.approx(
            written["epoch_flops"] / part["helpers_epoch_s"] / part["matmul_gflops"] / 1e9)
        assert part["helpers_over_plain"] == pytest.approx(
            part["helpers_epoch_s"] / part["plain_epoch_s"])
        assert part["rounds_s"]["helpers_epoch_s"] == [part["helpers_epoch_s"]]   # 1 round
        assert part["helpers_over_plain_median"] == pytest.approx(part["helpers_over_plain"])
        assert part["products_over_plain"] == pytest.approx(
            part["products_epoch_s"] / part["plain_epoch_s"])
        assert len(part["rounds_loadavg"]) == len(part["rounds_matmul_gflops"]) == 1
        assert set(part["targets"]) == set(speed.TARGETS)
        for key, check in part["targets"].items():
            assert check["median"] == part[f"{key}_median"] and check["best"] == part[key]
            assert isinstance(check["met"], bool)
        assert part["adam_over_sgd"] == pytest.approx(
            part["helpers_adam_epoch_s"] / part["helpers_epoch_s"])
    assert written["images"] == 128 and written["sizes"] == [784, 500, 250, 100, 10]
    assert written["epoch_flops"] == speed.epoch_flops(128)
    assert "epoch_flops_performed" not in written      # one count: the flops performed
    assert isinstance(written["blas"]["libraries"], list) and written["blas"]["libraries"]
    assert "architecture" in written["blas"]["libraries"][0]
    assert result["output"] == str(out)
    table = speed.format_table(result)
    assert "fraction of peak" in table and "one thread per library" in table
    assert "plain NumPy loop" in table and "helpers / plain loop" in table
    assert "products alone" in table and "target <= 0.83" in table and "target >= 0.65" in table
    assert table.count("met") >= 4 and "load average per round" in table
    assert "6*N" not in table


def test_bad_sizes_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="at least 64 images"):
        speed.run(quick=True, output=tmp_path / "b.json", images=10)


def test_command_line_quick(tmp_path):
    out = tmp_path / "cli.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--images", "128",
                           "--no-single-thread", "--output", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "helpers MLP, SGD" in proc.stdout and str(out) in proc.stdout
    data = json.loads(out.read_text())
    assert "single_thread" not in data and _positive(data["helpers_epoch_s"])


def test_grading_throughput_is_merged_and_printed(tmp_path, monkeypatch):
    """With grading=True the bench adds grader.throughput's keys and prints them."""
    from grader import throughput

    fake = {"grading_per_min_jobs1": 2.5, "grading_per_min_jobs2": 4.0,
            "grading_speedup_jobs2": 1.6, "grading_seconds_jobs1": 240.0,
            "grading_seconds_jobs2": 150.0, "grading_submissions": 10,
            "grading_students": 2, "grading_assignments": ["a"], "grading_kernel": "k"}
    calls = []
    monkeypatch.setattr(throughput, "measure",
                        lambda jobs, baseline=None: calls.append((jobs, baseline)) or dict(fake))
    result = speed.run(quick=True, output=tmp_path / "b.json", with_torch=False,
                       single_thread=False, grading=True)
    # JOBS=1 and 2; the baselines: every cell, forked and as nbgrader grades; kernel late
    assert calls == [((1, 2), ("all", "nbgrader", "late_kernel"))]
    saved = json.loads((tmp_path / "b.json").read_text())
    for key in ("grading_per_min_jobs1", "grading_per_min_jobs2", "grading_speedup_jobs2"):
        assert saved[key] == fake[key]
    table = speed.format_table(result)
    assert "JOBS=1" in table and "JOBS=2" in table and "1.60" in table
    assert saved["grading_graded_target_met"] is None     # no baseline in this measurement


@pytest.mark.parametrize("ratios, met", [({"02_logistic": 6.0, "05_mlp": 5.0}, True),
                                         ({"02_logistic": 6.0, "05_mlp": 4.9}, False)])
def test_grading_mode_speedup_is_reported_against_its_target(tmp_path, monkeypatch, ratios, met):
    """The grading mode's speed-ups over both baselines reach bench.json and the table,
    with the issue's 5x target judged against today's way (baseline nbgrader) on every
    measured notebook of 02-05, not against the faster baseline all."""
    from grader import throughput

    fake = {"grading_per_min_jobs1": 12.0, "grading_per_min_jobs2": 20.0,
            "grading_speedup_jobs2": 1.67, "grading_seconds_jobs1": 50.0,
            "grading_seconds_jobs2": 30.0, "grading_submissions": 2, "grading_students": 1,
            "grading_assignments": list(ratios), "grading_kernel": "k", "grading_cells": "graded",
            "grading_seconds_per_notebook": {a: 2.0 for a in ratios},
            "grading_seconds_per_notebook_all": {a: 2.0 * r for a, r in ratios.items()},
            "grading_per_min_jobs1_all": 4.0,
            "grading_speedup_over_all": {"whole run": 3.0, **{a: 1.0 for a in ratios}},
            "grading_seconds_per_notebook_nbgrader": {a: 2.0 * r for a, r in ratios.items()},
            "grading_per_min_jobs1_nbgrader": 2.0,
            "grading_speedup_over_nbgrader": {"whole run": 6.0, **ratios}}
    monkeypatch.setattr(throughput, "measure", lambda jobs, baseline=None: dict(fake))
    result = speed.run(quick=True, output=tmp_path / "b.json", with_torch=False,
                       single_thread=False, grading=True)
    assert json.loads((tmp_path / "b.json").read_text())["grading_graded_target_met"] is met
    table = speed.format_table(result)
    over = {line.split(":")[0].strip(): line for line in table.splitlines() if "graded over" in line}
    assert set(over) == {"grading mode graded over all", "grading mode graded over nbgrader"}
    assert "target" not in over["grading mode graded over all"] and "05_mlp" in table
    verdict = ": met)" if met else ": not met)"
    assert "(target >= 5x" in over["grading mode graded over nbgrader"]
    assert over["grading mode graded over nbgrader"].endswith(verdict)


def test_rounds_are_interleaved_and_the_best_of_each_is_kept(monkeypatch):
    """Every round times the matmul rate and one epoch of each candidate in turn; each
    number is the best over the rounds, the rate the highest (once more at the end)."""
    calls = []
    epochs = {"sgd": [3.0, 2.0, 2.5], "adam": [4.0, 3.5, 2.6], "plain": [3.0, 2.9, 2.5],
              "products": [2.4, 2.0, 2.0], "sklearn": [9.0, 8.0, 8.5]}
    rates = iter([50.0, 80.0, 60.0, 70.0])

    def timer(name):
        def epoch(r):
            calls.append((name, r))
            return epochs[name][r]
        return epoch

    monkeypatch.setattr(speed, "helpers_timer",
                        lambda X, y, optimizer, lr, clock: timer(optimizer))
    monkeypatch.setattr(speed, "plain_timer", lambda X, y, clock: timer("plain"))
    monkeypatch.setattr(speed, "products_timer", lambda X, y, clock: timer("products"))
    monkeypatch.setattr(speed, "sklearn_timer", lambda X, y, clock: timer("sklearn"))
    monkeypatch.setattr(speed, "matmul_gflops",
                        lambda n, clock: calls.append(("matmul", None)) or next(rates))
    out = speed._measure(speed.synthetic_data(64)[0], None, 3, 8, with_torch=False)
    round_ = [("matmul", None), ("sgd", 0), ("adam", 0), ("plain", 0), ("products", 0),
              ("sklearn", 0)]
    assert calls[:6] == round_ and calls[6:12] == [(n, None if r is None else 1)
                                                   for n, r in round_]
    assert calls[-1] == ("matmul", None) and len(calls) == 3 * 6 + 1
    assert out["helpers_epoch_s"] == 2.0 and out["helpers_adam_epoch_s"] == 2.6
    assert out["plain_epoch_s"] == 2.5 and out["helpers_over_plain"] == pytest.approx(0.8)
    # round by round: 3/3, 2/2.9, 2.5/2.5 -> median 1.0 (the best of each: 2/2.5 = 0.8)
    assert out["helpers_over_plain_median"] == pytest.approx(1.0)
    assert out["rounds_s"]["plain_epoch_s"] == [3.0, 2.9, 2.5]
    assert out["sklearn_epoch_s"] == 8.0 and out["torch_epoch_s"] is None
    assert out["matmul_gflops"] == 80.0 and out["rounds_matmul_gflops"] == [50.0, 80.0, 60.0]
    assert out["adam_over_sgd"] == pytest.approx(1.3)
    # products / plain round by round: 2.4/3, 2/2.9, 2/2.5 -> median 0.8
    assert out["products_over_plain_median"] == pytest.approx(0.8)
    # flops / helpers seconds / the round's own rate: the median of the three rounds
    flops = speed.epoch_flops(64)
    assert out["fraction_of_peak_median"] == pytest.approx(
        sorted(flops / h / 1e9 / r for h, r in zip([3.0, 2.0, 2.5], [50.0, 80.0, 60.0]))[1])
    assert out["targets"]["helpers_over_plain"]["met"] is False      # median 1.0 > 0.83
    assert out["targets"]["helpers_over_plain"]["best_met"] is True   # 2.0 / 2.5 = 0.8
