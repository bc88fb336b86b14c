"""The grading kernel's head start (grader/headstart.py).

- A graded submission's kernel is the one started ahead (the record says so), it sees
  the data files nbgrader copied after it started, and the grade is the one of a kernel
  started the usual way (``COURSE_GRADING_HEADSTART=0``), which the record also says.
- A kernel started ahead that nobody takes (its submission fails before it runs, or
  another kernel is asked for) is shut down: no process of the course is left.
- The switch follows grader/settings.py's rule.
"""
import json
import tempfile
from pathlib import Path

import pytest

import grading_support as gs
import system_deps
from nbclient.util import run_sync

from grader import headstart, kernels, sandbox, settings

FIX = gs.FIXTURE_ASSIGNMENT
READS, BROKEN = "a_reads_its_file", "b_broken"
DATA = "0.5\n"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root, release, good = gs.fixture_course(tmp_path_factory.mktemp("headstart-course"))
    # the student's code reads a file of the submission: it must be in the sandbox
    reads = gs.edited(good, "sigmoid-solution", lambda s: (
        f"with open('weights.txt') as fh:\n    assert fh.read() == {DATA!r}, 'weights.txt changed'\n"
        + s))
    gs.submit(root, READS, FIX, gs.FIXTURE_NAME, reads)
    (root / "submitted" / READS / FIX / "weights.txt").write_text(DATA)
    gs.submit(root, BROKEN, FIX, gs.FIXTURE_NAME, "{ this is not a notebook")
    return root


def _grade(course, monkeypatch, headstart_on):
    monkeypatch.setenv(settings.GRADING_HEADSTART, "1" if headstart_on else "0")
    report = gs.grade(course, jobs=1, students=[READS, BROKEN], restart=True, trusted=True)
    return {r["student"]: r for r in report["submissions"]}


@pytest.mark.parametrize("headstart_on", [True, False], ids=["ahead", "usual"])
def test_the_kernel_started_ahead_grades_as_the_usual_one(course, monkeypatch, headstart_on):
    rows = _grade(course, monkeypatch, headstart_on)
    record = gs.record(course, READS, FIX, "fixture")
    assert record["kernel_started_ahead"] is headstart_on, json.dumps(record)[:2000]
    # the file copied into autograded/ after the kernel started was there for the student
    autograded = {k: v for k, v in gs.scores(course, READS, FIX).items() if k.startswith("test-")}
    assert autograded == {"test-sigmoid": (1.0, 1.0), "test-l2_penalty": (2.0, 2.0)}
    assert rows[READS]["auto_score"] == rows[READS]["auto_max"] == 3.0
    # a submission that fails before its notebook runs leaves no kernel behind
    assert rows[BROKEN]["auto_score"] == 0
    assert gs.processes_in(course) == []


def test_the_switch_follows_the_settings_rule(monkeypatch):
    monkeypatch.delenv(settings.GRADING_HEADSTART, raising=False)
    assert settings.grading_headstart() is True
    for raw, value in (("0", False), ("no", False), ("1", True), ("TRUE", True), ("", True)):
        monkeypatch.setenv(settings.GRADING_HEADSTART, raw)
        assert settings.grading_headstart() is value
    monkeypatch.setenv(settings.GRADING_HEADSTART, "sometimes")
    with pytest.raises(ValueError, match=settings.GRADING_HEADSTART):
        settings.grading_headstart()


class _FakeManager:
    def __init__(self, alive=True):
        self.alive, self.shut_down = alive, False

    async def _async_is_alive(self):
        return self.alive

    async def _async_shutdown_kernel(self, now=False):
        self.shut_down = now


def _slot(tmp_path, km, env):
    folder = Path(tempfile.mkdtemp(prefix=kernels.DIR_PREFIX, dir=tmp_path))
    headstart._SLOT.append(headstart.HeadStart(km, str(folder), "k", str(tmp_path), env))
    return folder


def test_only_the_same_kernel_in_the_same_folder_with_the_same_environment_is_taken(tmp_path):
    km = _FakeManager()
    folder = _slot(tmp_path, km, {"A": "1"})
    assert run_sync(headstart.take)("k", tmp_path, {"A": "1"}) == (km, str(folder))
    assert headstart._SLOT == [] and not km.shut_down
    for kernel, cwd, env in (("other", tmp_path, {"A": "1"}), ("k", tmp_path / "sub", {"A": "1"}),
                             ("k", tmp_path, {"A": "2"})):
        km = _FakeManager()
        folder = _slot(tmp_path, km, {"A": "1"})
        assert run_sync(headstart.take)(kernel, cwd, env) is None
        assert km.shut_down and not folder.exists() and headstart._SLOT == []
    km = _FakeManager(alive=False)                 # died while nbgrader prepared: not taken
    folder = _slot(tmp_path, km, {"A": "1"})
    assert run_sync(headstart.take)("k", tmp_path, {"A": "1"}) is None
    assert not folder.exists()


def test_refresh_scratch_copies_what_make_scratch_copies(tmp_path):
    cwd, runtime = tmp_path / "autograded", tmp_path / (kernels.DIR_PREFIX + "r")
    cwd.mkdir()
    runtime.mkdir()
    scratch = sandbox.make_scratch(cwd, runtime)           # the kernel started: nothing yet
    (cwd / "sub").mkdir()
    (cwd / "sub" / "weights.npy").write_bytes(b"123")
    (cwd / "graded.ipynb").write_text("hidden tests")
    (cwd / "numpy.py").write_text("evil")
    assert sandbox.refresh_scratch(cwd, runtime) == scratch
    files = {str(p.relative_to(scratch)) for p in scratch.rglob("*") if p.is_file()}
    assert {f for f in files if not f.startswith(".cache/")} == {"sub/weights.npy"}
    assert sandbox.refresh_scratch(cwd, tmp_path / "no-scratch-here") is None
    sandbox.make_scratch(cwd, runtime)
    with pytest.raises(sandbox.SandboxUnavailable, match="2 scratch copies"):
        sandbox.refresh_scratch(cwd, runtime)


def test_a_kernel_started_ahead_sees_the_files_copied_after_it_was_ready(course, monkeypatch):
    """The order a slow machine gives: the sandbox's scratch copy is made (empty) before
    nbgrader copies the submission's files; the kernel taken must still see them."""
    if not gs.SANDBOX:
        system_deps.require("bubblewrap")
    from nbformat.v4 import new_code_cell, new_notebook
    from traitlets.config.loader import PyFileConfigLoader

    from grader.preprocessors import GradingExecute

    monkeypatch.setenv(settings.CHECK_SEED, "12345")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.GradingExecute.cells = "all"
    cwd = course / "autograded" / "ahead" / FIX
    assert headstart.start(config, cwd)
    head = headstart._SLOT[0]

    async def ready():
        kc = head.km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
        finally:
            kc.stop_channels()
    run_sync(ready)()
    (cwd / "weights.txt").write_text(DATA)            # only now: nbgrader's copy
    nb = new_notebook(cells=[new_code_cell("print(open('weights.txt').read(), end='')")],
                      metadata={"kernelspec": dict(gs.KERNELSPEC)})
    monkeypatch.setenv(headstart.EXECUTION_VARIABLE, "autograde")
    nb, resources = GradingExecute(config=config).preprocess(nb, {"metadata": {"path": str(cwd)}})
    assert resources["coursepack"]["kernel_started_ahead"] is True
    assert [o.get("text") for o in nb.cells[0].outputs] == [DATA]
    assert headstart._SLOT == [] and gs.processes_in(course) == []


def test_autograde_refuses_a_switch_that_is_neither_before_grading(course, monkeypatch):
    from grader import pipeline

    monkeypatch.setenv(settings.GRADING_HEADSTART, "sometimes")
    before = gs.hash_tree(course / "autograded")
    with pytest.raises(pipeline.GradingError, match=r"\$COURSE_GRADING_HEADSTART is 'sometimes'"):
        pipeline.autograde(course, jobs=1, unsafe=True, log=lambda *_: None)
    assert gs.hash_tree(course / "autograded") == before
