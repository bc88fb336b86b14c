"""The course hub end to end (hub/setup.py, `make hub`): JupyterHub 6.1 with real Unix users.

One tutor, a grader account and three students (a fourth added later), created for this
test (homes in its temporary folder) and removed afterwards. The hub is started with the
README's `make hub COURSE= ROSTER= TUTORS=` (plus HUB_DIR= and HUB_OPTS= for its folders
and free ports) and stopped with `make hub-stop`, which must leave no process behind; the
hub, its proxy, the formgrader service and the students' servers all start inside the
test (bounded waits). The hub's venv and proxy are installed once into build/hub-seed/
of the checkout and copied from there (`--seed-dir`): a warm run does not reinstall them.

Students work through their own single-user servers, via the hub's proxy and the
Assignments tab's REST endpoints (nbgrader's assignment_list server extension) with a
token of their own: fetch, edit the notebook (contents API), submit, fetch feedback. The
tutor side runs the README's command lines as the grader account: nbgrader
release_assignment, collect, `python -m grader autograde --root ...` (the sandbox),
feedback, nbgrader release_feedback, `python -m grader export --format canvas|moodle|csv`.

Checked: the roster's students are hub users in nbgrader-<course> and in the gradebook;
scores equal those of the same notebooks graded from submitted/ directly, in every
export; the later of two submissions counts; a submission after the due date is late; a
student cannot list the inbound folder, read another's submission, home or feedback, or
the hidden tests; the formgrader's pages open for the tutor through the hub's login (and
show the grades), a student is refused and nobody logs in as the grader account; the
tutor's Course List names the formgrader; `make hub` again with a longer roster adds a
student who can fetch; a student removed from the course group is refused. Needs root,
npm, make, python3-venv, runuser/useradd and a working sandbox: elsewhere it skips with
the reason (CI runs it).
"""
import csv
import datetime
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest

import system_deps
from grading_support import (
    exercise_functions,
    grade,
    make_course,
    read_nb,
    scores,
    solved,
    submit,
    with_mistake,
)

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "01_derivations"
NOTEBOOK = "derivations.ipynb"
WAIT_S = 120
# The hub's venv (pinned requirements, JupyterHub) and the proxy are installed here once
# and copied into each run's hub folder (git-ignored build/; `make clean` removes it).
SEED_DIR = REPO / "build" / "hub-seed"


def hub_problem():
    """Why the hub test cannot run here (None if it can)."""
    if os.geteuid() != 0:
        return "the hub test creates Unix users: run it as root (CI does)"
    from tools import doctor

    for name in ("python3-venv", "npm", "bubblewrap"):
        why = doctor.reason(name) if name != "bubblewrap" or shutil.which("bwrap") is None else None
        if why:
            return why
    for tool in ("useradd", "userdel", "runuser"):
        if shutil.which(tool) is None:
            return f"{tool} is missing: apt-get install -y passwd util-linux"
    return None


@pytest.fixture(scope="module")
def hub():
    why = hub_problem()
    if why:
        if system_deps.in_ci():
            pytest.fail(f"{why} (CI=true: .ci/run installs it)", pytrace=False)
        pytest.skip(why)
    from hub import setup

    tag = secrets.token_hex(2)
    course_id = f"cp{tag}"
    students = [f"cp{tag}s{i}" for i in (1, 2, 3)]
    tutor = f"cp{tag}t"
    base = Path(tempfile.mkdtemp(prefix="coursepack-hub-", dir="/tmp"))
    os.chmod(base, 0o755)
    roster = base / "roster.csv"
    roster.write_text("id,first,last,email\n" + "".join(
        f"{s},Student{i},Test,{s}@example.edu\n" for i, s in enumerate(students, 1)))
    ports = {k: _free_port() for k in ("port", "hub_port", "proxy_api_port", "service_port")}
    hub_dir = base / "hub"
    started = time.monotonic()
    opts = (f"--home-base {base / 'home'} --assignments {ASSIGNMENT} --seed-dir {SEED_DIR} "
            + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in ports.items()))
    try:
        # the README's command line (plus where this test keeps things)
        r = system_deps.run_make("hub", f"COURSE={course_id}", f"ROSTER={roster}", f"TUTORS={tutor}",
                                 f"HUB_DIR={hub_dir}", f"HUB_OPTS={opts}", timeout=1200)
        assert r.returncode == 0, f"make hub: {r.stdout[-3000:]}\n{r.stderr[-3000:]}"
        password = (hub_dir / "state" / "trial-password").read_text().strip()
        assert f"make hub: hub running: http://127.0.0.1:{ports['port']}/" in r.stdout
        assert f"make hub: first login: user {tutor!r}, trial password {password!r}" in r.stdout
        course = setup.load_course(hub_dir)
        assert setup.hub_pid(hub_dir) is not None
        course["_setup_s"] = time.monotonic() - started
        course["_make_hub"] = [f"COURSE={course_id}", f"TUTORS={tutor}", f"HUB_DIR={hub_dir}", f"HUB_OPTS={opts}"]
        yield setup, course, students, tutor, base
    finally:
        stop = system_deps.run_make("hub-stop", f"HUB_DIR={hub_dir}", timeout=120)
        deadline = time.monotonic() + 15         # servers may still be shutting down
        while (left := _processes_under(hub_dir)) and time.monotonic() < deadline:
            time.sleep(0.5)
        for proc in left:                      # only what this test's hub started
            proc.kill()
        setup.down(hub_dir, remove=True, log=lambda *_: None)
        shutil.rmtree(base, ignore_errors=True)
        assert stop.returncode == 0, stop.stdout + stop.stderr
        assert not left, f"make hub-stop left {[' '.join(p.info['cmdline']) for p in left]}"


def _processes_under(hub_dir):
    """Processes whose command line names the hub's folder (its venv, proxy, config)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if str(hub_dir) in " ".join(proc.info["cmdline"] or []):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A student's single-user server, through the hub's proxy, with the student's token."""

    def __init__(self, setup, course, user):
        self.course, self.user = course, user
        status, body = setup.api(course, "POST", f"/users/{user}/tokens",
                                 {"scopes": [f"access:servers!user={user}"], "note": "hub test"})
        assert status == 201, body
        self.token = body["token"]

    def call(self, method, path, body=None):
        url = f"http://127.0.0.1:{self.course['port']}/user/{self.user}{path}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"token {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=WAIT_S) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def action(self, name):
        status, body = self.call("POST", f"/assignments/{name}",
                                 {"course_id": self.course["course"], "assignment_id": ASSIGNMENT})
        assert status == 200 and body["success"], (name, status, body)
        return body["value"]

    def put_notebook(self, nb):
        path = f"/api/contents/{self.course['course']}/{ASSIGNMENT}/{NOTEBOOK}"
        status, body = self.call("PUT", path, {"type": "notebook", "format": "json", "content": nb})
        assert status in (200, 201), body

    def feedback_html(self):
        folder = f"/api/contents/{self.course['course']}/{ASSIGNMENT}/feedback"
        status, body = self.call("GET", folder)
        assert status == 200, body
        (stamp,) = [e["name"] for e in body["content"]]
        status, body = self.call("GET", f"{folder}/{urllib.parse.quote(stamp)}/derivations.html"
                                        "?type=file&format=text")
        assert status == 200, body
        return body["content"]


class Browser:
    """A user at the hub's login page with a cookie jar, as a browser would be: log in with
    the trial password, then open pages through the proxy (OAuth redirects followed)."""

    def __init__(self, course, hub_dir):
        self.base = f"http://127.0.0.1:{course['port']}"
        self.password = (Path(hub_dir) / "state" / "trial-password").read_text().strip()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path, data=None):
        """(status, final URL, body text) of ``path`` (POST with form ``data``)."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(urllib.request.Request(self.base + path, data=body), timeout=WAIT_S) as r:
                return r.status, r.url, r.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.url, exc.read().decode(errors="replace")

    def login(self, user):
        status, _, page = self.get("/hub/login")
        assert status == 200, page[-500:]
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page)
        assert xsrf, "no _xsrf field on the hub's login page"
        # next=/hub/home: the hub's home page, without starting the user's server
        status, url, page = self.get("/hub/login?next=%2Fhub%2Fhome",
                                     {"username": user, "password": self.password, "_xsrf": xsrf.group(1)})
        assert status != 200 or url.endswith("/hub/home"), url
        return status, page


def page_text(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def start_servers(setup, course, users):
    for user in users:
        status, body = setup.api(course, "POST", f"/users/{user}/server")
        assert status in (201, 202), body
    deadline = time.monotonic() + WAIT_S
    pending = set(users)
    while pending and time.monotonic() < deadline:
        for user in sorted(pending):
            status, body = setup.api(course, "GET", f"/users/{user}")
            if body["servers"].get("", {}).get("ready"):
                pending.discard(user)
        time.sleep(1)
    assert not pending, f"servers not ready after {WAIT_S} s: {pending}"


def tutor_run(setup, course, *cmd):
    """A command of the tutor side, as the grader account in the course folder."""
    venv = Path(course["venv"]) / "bin"
    env = {"PATH": f"{venv}:/usr/bin:/bin", "MNIST_DIR": course.get("mnist_dir") or "",
           "COURSE_TEST_JOBS": "2"}
    exe = str(venv / cmd[0]) if (venv / cmd[0]).exists() else cmd[0]
    r = setup.as_user(course["grader"], [exe, *cmd[1:]], env=env, cwd=course["course_root"],
                      capture_output=True, text=True, check=False, timeout=900)
    assert r.returncode == 0, f"{cmd}: {r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return r.stdout + r.stderr


def as_student(setup, course, user, code, env=None):
    """Run Python ``code`` as the student; returns its stdout (the last line: a verdict)."""
    r = setup.as_user(user, [str(Path(course["venv"]) / "bin" / "python"), "-c", code],
                      env=env, capture_output=True, text=True, check=False, timeout=300)
    return r.stdout + r.stderr


PROBE = """
import os, sys
try:
    {action}
    print("ALLOWED")
except PermissionError:
    print("DENIED")
"""


def probe(setup, course, user, action):
    return as_student(setup, course, user, PROBE.format(action=action)).strip().splitlines()[-1]


def test_course_hub_end_to_end(hub, tmp_path):
    setup, course, (s1, s2, s3), tutor, base = hub
    t0 = time.monotonic()
    cid, root = course["course"], Path(course["course_root"])
    inbound = Path(course["exchange"]) / cid / "inbound"

    # the roster's students are hub users in the course's group, and in the gradebook
    from nbgrader.api import Gradebook
    from grader.preprocessors import gradebook_url
    status, group = setup.api(course, "GET", f"/groups/nbgrader-{cid}")
    assert status == 200 and sorted(group["users"]) == [s1, s2, s3]
    with Gradebook(gradebook_url(root)) as gb:
        assert {s.id: (s.first_name, s.email) for s in gb.students} == \
            {u: (f"Student{i}", f"{u}@example.edu") for i, u in enumerate((s1, s2, s3), 1)}

    # the formgrader, as a browser opens it: the tutor logs in and gets its pages (the hub's
    # OAuth redirects, then formgrader -> manage_assignments); a student is refused by the
    # hub; nobody logs in as the grader account that runs it
    hub_dir = Path(course["venv"]).parent
    tutor_web = Browser(course, hub_dir)
    assert tutor_web.login(tutor)[0] == 200
    status, url, page = tutor_web.get(f"/services/{cid}/formgrader")
    assert status == 200 and url.endswith(f"/services/{cid}/formgrader/manage_assignments"), (status, url)
    assert "<h1>Manage Assignments</h1>" in page
    assert 'id="warning-exchange"' not in page and 'id="warning-course-id"' not in page
    status, _, listing = tutor_web.get(f"/services/{cid}/formgrader/api/assignments")
    assert status == 200 and [a["name"] for a in json.loads(listing)] == [ASSIGNMENT]
    student_web = Browser(course, hub_dir)
    assert student_web.login(s1)[0] == 200
    status, _, page = student_web.get(f"/services/{cid}/formgrader")
    assert status == 403 and f"You do not have permission to access JupyterHub service {cid}" in page_text(page)
    status, _, listing = student_web.get(f"/services/{cid}/formgrader/api/assignments")
    assert status == 403 and ASSIGNMENT not in listing
    assert Browser(course, hub_dir).login(course["grader"])[0] == 403
    # nor with a token: a student may not even ask for the right
    status, _ = setup.api(course, "POST", f"/users/{s1}/tokens", {"scopes": [f"access:services!service={cid}"]})
    assert status in (400, 403)          # "requested scopes exceed the owner's"

    # the tutor releases; the students start their servers and fetch
    tutor_run(setup, course, "nbgrader", "release_assignment", ASSIGNMENT)
    start_servers(setup, course, [s1, s2, s3, tutor])
    servers = {u: Server(setup, course, u) for u in (s1, s2, s3)}
    # JupyterLab's Nbgrader -> Course List of the tutor names the course's formgrader
    status, courses = Server(setup, course, tutor).call("GET", "/formgraders")
    assert status == 200 and courses["success"], courses
    hub_fg = [c for c in courses["value"] if c["kind"] == "jupyterhub"]
    assert [(c["course_id"], urllib.parse.urlparse(c["url"]).path) for c in hub_fg] == \
        [(cid, f"/services/{cid}/lab")]
    setup.api(course, "DELETE", f"/users/{tutor}/server")
    for srv in servers.values():
        fetched = srv.action("fetch")
        assert [a["status"] for a in fetched if a["assignment_id"] == ASSIGNMENT] == ["fetched"]

    release = read_nb(root / "notebooks" / ASSIGNMENT / NOTEBOOK)
    good = solved(release, read_nb(REPO / "solutions" / ASSIGNMENT / NOTEBOOK))
    import mistakes
    bad = with_mistake(good, "sigmoid_grad", mistakes.sigmoid_grad_sign,
                       exercise_functions(good)["sigmoid_grad"])
    # s1 submits the untouched release first, then the correct one (the later counts)
    servers[s1].action("submit")
    time.sleep(1.1)
    servers[s1].put_notebook(good)
    servers[s1].action("submit")
    servers[s2].put_notebook(bad)
    servers[s2].action("submit")
    # the due date passes, then s3 submits the untouched release: late
    due = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(seconds=1)
    tutor_run(setup, course, "nbgrader", "db", "assignment", "add", ASSIGNMENT,
              f"--duedate={due.strftime('%Y-%m-%d %H:%M:%S')} UTC")
    while datetime.datetime.now(datetime.timezone.utc) < due + datetime.timedelta(seconds=1):
        time.sleep(0.2)
    servers[s3].action("submit")

    # privacy: nothing of another student, nor the hidden tests, is reachable by s2
    sub_s1 = sorted(inbound.glob(f"{s1}+*"))
    assert len(sub_s1) == 2
    home_s1 = Path(base / "home" / s1)
    assert probe(setup, course, s2, f"os.listdir({str(inbound)!r})") == "DENIED"
    assert probe(setup, course, s2, f"open({str(sub_s1[-1] / NOTEBOOK)!r}).read()") == "DENIED"
    assert probe(setup, course, s2, f"os.listdir({str(sub_s1[-1])!r})") == "DENIED"
    assert probe(setup, course, s2, f"os.listdir({str(home_s1)!r})") == "DENIED"
    assert probe(setup, course, s2, f"open({str(root / 'solutions' / ASSIGNMENT / NOTEBOOK)!r}).read()") == "DENIED"
    assert probe(setup, course, s2, f"open({str(root / 'gradebook.db')!r}, 'rb').read()") == "DENIED"
    assert probe(setup, course, s2, f"os.rename({str(Path(course['exchange']) / cid)!r}, '/tmp/x')") == "DENIED"
    # (sanity: the release itself is readable)
    assert probe(setup, course, s2, "open(%r).read()" % str(
        Path(course["exchange"]) / cid / "outbound" / ASSIGNMENT / NOTEBOOK)) == "ALLOWED"

    # the tutor collects, autogrades in the sandbox, gives and releases feedback, exports
    # (the README's command lines, as the grader account in the course folder)
    tutor_run(setup, course, "nbgrader", "collect", ASSIGNMENT)
    report = tutor_run(setup, course, "python", "-m", "grader", "autograde", "--root", str(root), "--jobs", "2")
    assert "kernel coursepack-sandbox" in report
    tutor_run(setup, course, "python", "-m", "grader", "feedback", "--root", str(root))
    tutor_run(setup, course, "nbgrader", "release_feedback", ASSIGNMENT)
    for fmt in ("canvas", "moodle", "csv"):
        out = tutor_run(setup, course, "python", "-m", "grader", "export", "--root", str(root), "--format", fmt)
        assert f"wrote {root / ('grades.csv' if fmt == 'csv' else f'grades-{fmt}.csv')}" in out
    assert probe(setup, course, s2, f"os.listdir({str(Path(course['exchange']) / cid / 'feedback')!r})") == "DENIED"

    # the same notebooks graded from submitted/ directly
    direct = make_course(tmp_path / "direct", [ASSIGNMENT])
    for user, nb in ((s1, good), (s2, bad), (s3, release)):
        submit(direct, user, ASSIGNMENT, NOTEBOOK, nb)
    grade(direct, trusted=True)                      # notebooks this repository wrote
    got = {u: scores(root, u, ASSIGNMENT) for u in (s1, s2, s3)}
    assert got == {u: scores(direct, u, ASSIGNMENT) for u in (s1, s2, s3)}
    total = {u: sum(v[0] for v in got[u].values()) for u in got}
    assert total[s1] > total[s2] > total[s3] == 0
    assert got[s1]["test-sigmoid_grad"][0] > 0 and got[s2]["test-sigmoid_grad"][0] == 0
    with open(root / "grades.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert {u: float(rows[u][ASSIGNMENT]) for u in got} == total
    canvas = list(csv.reader((root / "grades-canvas.csv").open(encoding="utf-8")))
    col = canvas[0].index(ASSIGNMENT)
    assert canvas[1][0].strip() == "Points Possible"
    assert {r[2]: float(r[col]) for r in canvas[2:]} == total       # SIS User ID: the roster id
    with open(root / "grades-moodle.csv", newline="", encoding="utf-8") as fh:
        moodle = {r["ID number"]: r for r in csv.DictReader(fh)}
    assert {u: (moodle[u]["Email address"], float(moodle[u][ASSIGNMENT])) for u in got} == \
        {u: (f"{u}@example.edu", total[u]) for u in got}

    # the formgrader shows the same grades to the tutor (manual grading starts from them)
    status, _, subs = tutor_web.get(f"/services/{cid}/formgrader/api/submissions/{ASSIGNMENT}")
    assert status == 200, subs
    assert {x["student"]: x["score"] for x in json.loads(subs)} == pytest.approx(total)

    # late: only s3
    with Gradebook(gradebook_url(root)) as gb:
        late = {u: gb.find_submission(ASSIGNMENT, u).total_seconds_late for u in (s1, s2, s3)}
    assert late[s3] > 0 and late[s1] == 0 and late[s2] == 0, late

    # each student fetches their own feedback
    html = {}
    for user, srv in servers.items():
        srv.action("fetch_feedback")
        html[user] = srv.feedback_html()
        assert "BEGIN HIDDEN TESTS" not in html[user]
    assert html[s1] != html[s2] and "sigmoid_grad" in html[s2]

    # `make hub` again with a longer roster, the hub running: the new student gets a Unix
    # user (home 0700), a hub user in the course group, a gradebook entry, and fetches
    s4 = f"{cid}s4"
    longer = base / "roster-longer.csv"
    longer.write_text((base / "roster.csv").read_text() + f"{s4},Student4,Test,{s4}@example.edu\n")
    r = system_deps.run_make("hub", f"ROSTER={longer}", *course["_make_hub"], timeout=900)
    assert r.returncode == 0, f"make hub (again): {r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    assert f"created Unix users: {s4}" in r.stdout
    home_s4 = base / "home" / s4
    assert home_s4.is_dir() and home_s4.stat().st_mode & 0o077 == 0
    status, group = setup.api(course, "GET", f"/groups/nbgrader-{cid}")
    assert status == 200 and s4 in group["users"]
    with Gradebook(gradebook_url(root)) as gb:
        assert gb.find_student(s4).email == f"{s4}@example.edu"
    status, body = setup.api(course, "POST", f"/users/{s4}/tokens", {"note": "hub test"})
    assert status == 201, body
    env4 = {"JUPYTERHUB_USER": s4, "JUPYTERHUB_API_TOKEN": body["token"],
            "JUPYTERHUB_API_URL": f"http://127.0.0.1:{course['hub_port']}/hub/api",
            "PATH": f"{course['venv']}/bin:/usr/bin:/bin"}
    r = setup.as_user(s4, [f"{course['venv']}/bin/nbgrader", "fetch_assignment", ASSIGNMENT, "--course", cid],
                      env=env4, cwd=str(home_s4), capture_output=True, text=True, check=False, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (home_s4 / cid / ASSIGNMENT / NOTEBOOK).is_file()          # Exchange.path_includes_course

    # removed from the course group: refused
    status, _ = setup.api(course, "DELETE", f"/groups/nbgrader-{cid}/users", {"users": [s3]})
    assert status == 200
    env = {"JUPYTERHUB_USER": s3, "JUPYTERHUB_API_TOKEN": servers[s3].token,
           "JUPYTERHUB_API_URL": f"http://127.0.0.1:{course['hub_port']}/hub/api",
           "PATH": f"{course['venv']}/bin:/usr/bin:/bin"}
    fresh = home_s1.parent / s3 / "again"
    r = setup.as_user(s3, ["mkdir", "-p", str(fresh)], check=False)
    r = setup.as_user(s3, [f"{course['venv']}/bin/nbgrader", "fetch_assignment", ASSIGNMENT, "--course", cid],
                      env=env, cwd=str(fresh), capture_output=True, text=True, check=False, timeout=120)
    assert r.returncode != 0 and "You do not have access to this course" in r.stdout + r.stderr
    status, listing = servers[s3].call("GET", f"/assignments?course_id={cid}")
    value = listing.get("value") if isinstance(listing, dict) else None
    assert status == 200 and not (isinstance(value, list) and [a for a in value if a.get("status") == "released"])
    print(f"\nhub end to end: setup {course['_setup_s']:.0f} s, workflow {time.monotonic() - t0:.0f} s")


def test_hub_stop_stops_what_the_hub_left_and_nothing_else(tmp_path):
    """A server the hub could not stop (or every server of a hub killed after its stop
    timeout) runs on in its own session; `make hub-stop` ends it, SIGKILL for one that
    ignores SIGTERM, and spares a process that only mentions the folder (like the
    `make hub-stop HUB_DIR=...` that runs it)."""
    import sys as _sys

    from hub import setup as hub_setup

    hub_dir = tmp_path / "hub"
    (hub_dir / "venv").mkdir(parents=True)
    sleeper = "import signal, sys, time\nif sys.argv[1] == 'stubborn':\n" \
              "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\n" \
              "time.sleep(120)\n"
    procs = {name: subprocess.Popen([_sys.executable, "-c", sleeper, name, arg], stdout=subprocess.PIPE,
                                    start_new_session=True, text=True)
             for name, arg in (("polite", str(hub_dir / "venv" / "server")),
                               ("stubborn", str(hub_dir / "venv" / "server")),
                               ("bystander", f"HUB_DIR={hub_dir}"))}
    try:
        for proc in procs.values():
            assert proc.stdout.readline().strip() == "ready"
        start = time.monotonic()
        left = hub_setup.stop_leftovers(hub_dir, timeout=3)
        seconds = time.monotonic() - start
        assert sorted(int(line.split(" ")[0]) for line in left) == sorted(
            procs[name].pid for name in ("polite", "stubborn")), left
        # (reaped by stop_leftovers, so Popen no longer sees their signals)
        assert procs["polite"].poll() is not None and procs["stubborn"].poll() is not None
        assert 3 <= seconds < 20, seconds           # the stubborn one needed the SIGKILL
        assert procs["bystander"].poll() is None
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait(timeout=10)
