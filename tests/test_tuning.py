"""helpers.tuning: ladders, widening past an edge, the sentence it writes."""
import math

import pytest

from helpers import tuning


def test_log_ladder():
    assert tuning.log_ladder(1e-3, 0.1) == [0.001, 0.003, 0.01, 0.03, 0.1]
    assert tuning.log_ladder(3e-5, 3e-4) == [3e-05, 0.0001, 0.0003]
    assert tuning.log_ladder(1e-5, 1e-2) == [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
    with pytest.raises(ValueError):
        tuning.log_ladder(0.1, 0.01)


def test_ladder_step():
    assert tuning.ladder_step(0.1, up=True) == 0.3
    assert tuning.ladder_step(0.3, up=True) == 1.0
    assert tuning.ladder_step(0.1, up=False) == 0.03
    assert tuning.ladder_step(3e-4, up=False) == 1e-4
    assert tuning.ladder_step(2.0, up=True) == pytest.approx(2 * math.sqrt(10), rel=1e-3)


def peaked(at):
    """A score with its maximum at ``at`` (log scale), and a record of the calls."""
    calls = []

    def score(v):
        calls.append(v)
        return -abs(math.log10(v) - math.log10(at))
    return score, calls


def test_inside_the_grid_needs_no_widening():
    score, calls = peaked(0.01)
    s = tuning.search_log_grid(score, [0.001, 0.003, 0.01, 0.03, 0.1], name="lr")
    assert s.best == 0.01 and s.strictly_inside and s.widened == [] and s.edge is None
    assert len(calls) == 5
    assert s.sentence() == "lr: chose 0.01, strictly inside the values tried (0.001 ... 0.1)."


def test_an_edge_is_widened_until_inside():
    score, calls = peaked(1.0)
    s = tuning.search_log_grid(score, [0.01, 0.03, 0.1], max_widenings=3, name="lr")
    assert s.widened == [0.3, 1.0, 3.0] and s.best == 1.0 and s.strictly_inside
    assert "widened past its edge to 0.3, 1, 3" in s.sentence()
    assert s.sentence().endswith("strictly inside the values tried (0.01 ... 3).")


def test_the_bottom_edge_is_widened_downwards():
    score, _ = peaked(1e-6)
    s = tuning.search_log_grid(score, [1e-4, 3e-4, 1e-3], max_widenings=2, name="wd")
    assert s.widened == [3e-5, 1e-5] and s.best == 1e-5 and not s.strictly_inside
    assert s.edge == "bottom"
    assert "still at the bottom edge" in s.sentence() and "may lie lower" in s.sentence()


def test_no_widening_allowed_reports_the_edge():
    score, _ = peaked(10.0)
    s = tuning.search_log_grid(score, [0.1, 0.3, 1.0], max_widenings=0)
    assert s.best == 1.0 and s.edge == "top" and "may lie higher" in s.sentence()


def test_failed_runs_lose_and_ties_use_the_tuple():
    def score(v):
        if v >= 0.1:
            return None                      # diverged
        return (0.9, -v)                     # same accuracy: the lower loss wins
    s = tuning.search_log_grid(score, [0.001, 0.01, 0.1], max_widenings=1)
    # 0.001 wins the tie (-0.001 > -0.01); it sits at the bottom edge, so 0.0003 is tried
    assert s.widened == [0.0003] and s.best == 0.0003
    assert s.failed() == [0.1]
    with pytest.raises(ValueError, match="every value"):
        tuning.search_log_grid(lambda v: None, [0.1, 1.0])
