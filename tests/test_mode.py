"""helpers.mode: the run-mode switch and quick mode's one BLAS thread."""
import os
import subprocess
import sys

import pytest

from helpers import mode


def test_current_and_pick(monkeypatch):
    monkeypatch.delenv("COURSE_MODE", raising=False)
    assert mode.current() == "quick" and mode.pick(1, 2) == 1
    monkeypatch.setenv("COURSE_MODE", " FULL ")
    assert mode.current() == "full" and mode.pick(1, 2) == 2
    monkeypatch.setenv("COURSE_MODE", "fast")
    with pytest.raises(ValueError, match=r"\$COURSE_MODE is 'fast'"):
        mode.current()


def _threads_after(env):
    """Run limit_threads() in a fresh interpreter; return (its result, the BLAS thread
    counts threadpoolctl sees afterwards)."""
    code = ("import numpy, json; from helpers import mode; from threadpoolctl import threadpool_info;"
            "r = mode.limit_threads();"
            "print(json.dumps([r, sorted({i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'})]))")
    clean = {k: v for k, v in os.environ.items() if k not in mode.THREAD_VARIABLES + ("COURSE_MODE",)}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True,
                         text=True, check=True, timeout=120).stdout
    import json

    return json.loads(out)


def test_quick_mode_runs_one_blas_thread():
    result, counts = _threads_after({"COURSE_MODE": "quick"})
    assert result == 1 and counts == [1]


def test_full_mode_and_an_explicit_setting_are_left_alone():
    result, counts = _threads_after({"COURSE_MODE": "full"})
    assert result is None and counts and counts != [0]
    result, counts = _threads_after({"COURSE_MODE": "quick", "OPENBLAS_NUM_THREADS": "2"})
    assert result is None
