"""helpers.results: merging, atomic and locked writes, value checks, where the file goes."""
import json
import multiprocessing
import os

import numpy as np
import pytest

from helpers import results


def test_record_merges_and_returns_value(tmp_path):
    path = tmp_path / "r.json"
    assert results.record("a_test_acc", 0.981, path=path) == 0.981
    assert results.record("best_config", "lr=0.1", path=path) == "lr=0.1"
    assert results.record("a_test_acc", 0.99, path=path) == 0.99  # overwrite one key
    assert results.record("flag", True, path=path) is True
    assert results.load(path) == {"a_test_acc": 0.99, "best_config": "lr=0.1", "flag": True}
    assert json.loads(path.read_text()) == results.load(path)
    (tmp_path / "plain").touch()                   # what open() gives a new file ...
    assert path.stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777
    # ... not mkstemp's 0600


def test_numpy_scalars_are_converted(tmp_path):
    path = tmp_path / "r.json"
    value = results.record("acc", np.float32(0.5), path=path)
    assert type(value) is float and value == 0.5
    assert type(results.record("n", np.int64(7), path=path)) is int
    assert results.record("ok", np.bool_(True), path=path) is True
    assert results.record("zero_d", np.array(0.25), path=path) == 0.25
    assert results.load(path) == {"acc": 0.5, "n": 7, "ok": True, "zero_d": 0.25}


@pytest.mark.parametrize("bad", [float("nan"), np.nan, float("inf"), -np.inf,
                                 np.float32("nan")])
def test_non_finite_rejected(tmp_path, bad):
    path = tmp_path / "r.json"
    with pytest.raises(ValueError, match="my_key.*finite"):
        results.record("my_key", bad, path=path)
    assert not path.exists()


@pytest.mark.parametrize("bad", [None, [0.9], {"a": 1}, np.array([0.9, 0.8]), object()])
def test_non_scalars_rejected(tmp_path, bad):
    with pytest.raises(TypeError, match="my_key"):
        results.record("my_key", bad, path=tmp_path / "r.json")


@pytest.mark.parametrize("bad_key", ["", "  ", 3, None])
def test_bad_keys_rejected(tmp_path, bad_key):
    with pytest.raises(TypeError, match="key"):
        results.record(bad_key, 1.0, path=tmp_path / "r.json")


def test_corrupt_file_is_named(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="r.json"):
        results.load(path)
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        results.record("a", 1, path=path)


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    results.record("a", 1, path=path)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(results.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        results.record("b", 2, path=path)
    assert results.load(path) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.json.lock"]


def _writer(path, worker, n):
    for i in range(n):
        results.record(f"w{worker}_k{i}", i, path=path)


def test_parallel_writers_lose_no_keys(tmp_path):
    path = tmp_path / "r.json"
    ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), w, 25)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    got = results.load(path)
    assert got == {f"w{w}_k{i}": i for w in range(4) for i in range(25)}
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]


def test_default_path_follows_mode_and_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_RESULTS", raising=False)
    monkeypatch.setenv("COURSE_MODE", "full")
    assert results.default_path() == results.build_dir() / "results.json"
    monkeypatch.setenv("COURSE_MODE", "quick")
    assert results.default_path() == results.build_dir() / "results-quick.json"
    monkeypatch.chdir(tmp_path)  # never relative to the cwd
    assert results.build_dir().parent / "helpers" / "results.py" == \
        results.Path(results.__file__).resolve()
    monkeypatch.setenv("COURSE_RESULTS", str(tmp_path / "mine.json"))
    results.record("x", 1.5)
    assert results.load() == {"x": 1.5} == results.load(tmp_path / "mine.json")


def test_load_missing_file_is_empty(tmp_path):
    assert results.load(tmp_path / "absent.json") == {}
