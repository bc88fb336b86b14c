"""The preloaded nbgrader server (grader/nbgrader_run.py) keeps what a process per
submission guaranteed.

- A submission over the submission time limit is stopped with its kernel, gets 0 with
  the reason, and the next submission of the same worker (forked from the same server)
  is graded as usual; no process of the run is left.
- A server that dies is replaced by a process of its own per run (the grade does not
  depend on it), and every later run of that worker does the same.
- A server whose client goes away kills the run in progress, kernel included, and ends.
The fixture students are trusted notebooks except the one that hangs, which only sleeps.
"""
import json
import select
import subprocess
import sys
import time
import warnings

import psutil
import pytest

import grading_support as gs
import system_deps
from grader import nbgrader_run, pipeline

FIX = gs.FIXTURE_ASSIGNMENT
HANGS, HONEST = "a_hangs", "b_honest"       # graded in this order by one worker


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root, release, good = gs.fixture_course(tmp_path_factory.mktemp("preloaded-course"))
    hangs = gs.edited(good, "sigmoid-solution", lambda s: "import time\ntime.sleep(600)\n" + s)
    gs.submit(root, HANGS, FIX, gs.FIXTURE_NAME, hangs)
    gs.submit(root, HONEST, FIX, gs.FIXTURE_NAME, good)
    return root




def test_over_the_time_limit_stops_the_submission_and_the_worker_goes_on(course):
    report = gs.grade(course, jobs=1, students=[HANGS, HONEST], cell_timeout=300, timeout=25,
                      restart=True, trusted=False)
    rows = {r["student"]: r for r in report["submissions"]}
    assert rows[HANGS]["auto_score"] == 0
    assert "grading stopped after 25 s" in json.dumps(gs.record(course, HANGS, FIX, "fixture"))
    assert rows[HONEST]["auto_score"] == rows[HONEST]["auto_max"] > 0
    assert gs.scores(course, HONEST, FIX)["test-sigmoid"] == (1.0, 1.0)
    assert gs.processes_in(course) == []


def test_a_dead_server_is_replaced_by_a_process_of_its_own(course):
    server = nbgrader_run.Preloaded(course, pipeline.nbgrader_env())
    code, output, _, timed_out = server.run(["--version"], pipeline.nbgrader_env(), timeout=120)
    assert (code, timed_out) == (0, False) and output.strip()
    server.proc.kill()
    server.proc.wait()
    with pytest.warns(RuntimeWarning, match="preloaded nbgrader server"):
        result = pipeline.run_nbgrader(["--version"], course, timeout=120, preloaded=server)
    assert result.returncode == 0 and result.output.strip() == output.strip()
    assert server.broken and server.proc is None
    with pytest.raises(nbgrader_run.PreloadUnavailable):
        server.run(["--version"], pipeline.nbgrader_env(), timeout=120)
    server.close()


def _readline(pipe, timeout):
    ready, _, _ = select.select([pipe], [], [], timeout)
    assert ready, f"no answer from the server within {timeout} s"
    return json.loads(pipe.readline())


def test_the_server_kills_a_run_whose_client_went_away(course, tmp_path):
    if not gs.SANDBOX:
        system_deps.require("bubblewrap")        # the hanging submission runs sandboxed
    kernel = pipeline.sandbox_kernel(False, log=lambda *_: None)
    env = pipeline.job_env("12345", kernel, 300, tmp_path / "runtime")
    argv = ["autograde", FIX, "--student", HANGS, "--force", "--Autograde.create_student=False",
            f"--GradingExecute.kernel_name={kernel}"]
    log = tmp_path / "run.log"
    log.write_text("")
    server = subprocess.Popen([sys.executable, "-m", "grader.nbgrader_run", "--serve"], cwd=course,
                              env=pipeline.nbgrader_env(), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert _readline(server.stdout, 300)["ready"]
        server.stdin.write(json.dumps({"argv": argv, "env": env, "cwd": str(course),
                                       "log": str(log)}) + "\n")
        server.stdin.flush()
        pid = _readline(server.stdout, 60)["pid"]
        run = psutil.Process(pid)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not run.children(recursive=True):
            time.sleep(0.2)                      # until the kernel is started
        kernels = run.children(recursive=True)
        assert kernels, "the run started no kernel within 120 s: " + log.read_text()[-2000:]
        server.stdin.close()                     # the client goes away
        assert server.wait(timeout=60) == 0
        gone, alive = psutil.wait_procs([run, *kernels], timeout=30)
        assert alive == [], f"still running: {alive}"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        server.stdout.close()
    assert gs.processes_in(course) == []


def test_the_server_prepares_the_verdicts_of_the_assignments_checks(tmp_path, monkeypatch):
    """Before forking a grading run, the server computes what the judge compares the
    assignment's checks with, for the run's seed and hidden key (so each submission's
    process starts with it), reading the checks from the instructor's notebooks only;
    any other request prepares nothing."""
    import shutil

    from checker import judge
    from grader import settings
    from grader.preprocessors import hidden_seed

    shutil.copytree(pipeline.REPO_ROOT / "solutions" / "02_logistic", tmp_path / "solutions" / "02_logistic")
    monkeypatch.setattr(judge, "_REFERENCES", {})
    monkeypatch.setattr(nbgrader_run, "_PREPARED", set())
    env = {settings.CHECK_SEED: "77", settings.HIDDEN_KEY: "k3y"}
    nbgrader_run._prepare_verdicts({"argv": ["generate_assignment", "02_logistic"], "env": env,
                                    "cwd": str(tmp_path)})
    assert judge._REFERENCES == {}
    nbgrader_run._prepare_verdicts({"argv": ["autograde", "02_logistic", "--student", "s"],
                                    "env": env, "cwd": str(tmp_path)})
    exercises = ("early_stopping_gd", "logistic_predict", "lr_annealing", "lr_step_decay")
    assert set(judge._REFERENCES) == {
        *((e, "77", False) for e in exercises),
        *((e, hidden_seed("k3y", e), True) for e in exercises)}
    kept = judge._REFERENCES["early_stopping_gd", "77", False]
    assert len(kept._expected) == len(kept.cases) == len(kept._gradients)   # computed in full
    # the second submission of the run finds it prepared; no seed, no key: nothing to do
    nbgrader_run._prepare_verdicts({"argv": ["autograde", "02_logistic"], "env": env,
                                    "cwd": str(tmp_path)})
    assert judge._REFERENCES["early_stopping_gd", "77", False] is kept
    monkeypatch.setattr(judge, "_REFERENCES", {})
    nbgrader_run._prepare_verdicts({"argv": ["autograde", "02_logistic"], "env": {},
                                    "cwd": str(tmp_path)})
    assert judge._REFERENCES == {}
