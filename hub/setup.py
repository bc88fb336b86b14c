"""`make hub`: a course hub on this machine (JupyterHub, real Unix users, nbgrader).

    python -m hub.setup up --course ID --roster roster.csv [--tutors a,b] [--dir DIR]
                           [--port 8000] [--hub-port 8081] [--proxy-api-port 8001]
                           [--service-port 9999] [--home-base /home] [--assignments A,B]
                           [--seed-dir DIR]
    python -m hub.setup down [--dir DIR] [--remove-users]

Run as root (it creates Unix users and the hub spawns servers as them). ``up`` is
idempotent: it creates what is missing and starts the hub if it is not running; run it
again with a longer roster to add students (a running hub gets them through its API).

Layout of DIR (default /srv/coursepack-hub), readable by every user unless noted:

    venv/               the Python every user runs: Debian's /usr/bin/python3, the pack's
                        pinned requirements, JupyterHub, the pack itself (not editable)
    proxy/              configurable-http-proxy (npm)
    jupyterhub_config.py
    state/       0700   hub database, cookie secret, tokens, trial password, course.json,
                        hub.log, created-users
    exchange/    0755   root-owned: nobody can rename or replace a course (nbgrader #1225)
      <course>/  0755   the grader account's; outbound/ 0755 (releases),
                        inbound/ 2773 (students write, cannot list; submissions 2770/0640,
                        grader.exchange), feedback/ 2771 (unlistable, hashed names)
    courses/<course>/ 0700  the course root of the grader account grader-<course>:
                        nbgrader_config.py, solutions/ (hidden tests), gradebook.db,
                        submitted/, autograded/, feedback/

Students' and tutors' homes are created 0700 (Debian's default is 0755), so nobody reads
another's fetched or submitted copy.
"""
import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from grader import roster as roster_mod

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DIR = Path("/srv/coursepack-hub")
SYSTEM_PYTHON = "/usr/bin/python3"
HUB_REQUIREMENTS = REPO / "hub" / "requirements.txt"
PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 30
LEFTOVER_TIMEOUT_S = 10


class HubError(RuntimeError):
    """A problem that stops `make hub`; the message says what and how to fix it."""


def log(msg):
    print(f"make hub: {msg}", flush=True)


def run(cmd, **kwargs):
    kwargs.setdefault("check", True)
    try:
        return subprocess.run(cmd, **kwargs)
    except subprocess.CalledProcessError as exc:
        out = (exc.stderr or exc.stdout or b"")
        out = out.decode(errors="replace") if isinstance(out, bytes) else out
        raise HubError(f"{' '.join(map(str, cmd))} failed ({exc.returncode}): {out.strip()[-800:]}") from None


def check_course_id(course):
    if not roster_mod.ID_PATTERN.match(course):
        raise HubError(f"course id {course!r}: use lower-case letters, digits, '_' and '-' "
                       "(it names the hub groups formgrade-<id>, nbgrader-<id> and a Unix user)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------
# Unix users

def user_exists(name):
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def ensure_user(name, home_base, created):
    """Create the Unix user ``name`` (own group, home 0700 under ``home_base``)."""
    if user_exists(name):
        return False
    home = Path(home_base) / name
    run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash",
         "--user-group", "-K", "HOME_MODE=0700", name], capture_output=True)
    os.chmod(home, 0o700)
    created.append(name)
    return True


def remove_users(names):
    for name in names:
        if not user_exists(name):
            continue
        import pwd

        home = pwd.getpwnam(name).pw_dir
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        subprocess.run(["userdel", name], capture_output=True)
        if home and home not in ("/", "") and Path(home).is_dir():
            shutil.rmtree(home, ignore_errors=True)


def as_user(user, cmd, env=None, cwd=None, **kwargs):
    """Run ``cmd`` as the Unix ``user`` (runuser), with a clean environment."""
    import pwd

    pw = pwd.getpwnam(user)
    base = {"HOME": pw.pw_dir, "USER": user, "LOGNAME": user, "LANG": "C.UTF-8",
            "PATH": "/usr/local/bin:/usr/bin:/bin"}
    base.update(env or {})
    envargs = [f"{k}={v}" for k, v in base.items()]
    return run(["runuser", "-u", user, "--", "env", "-i", *envargs, *cmd], cwd=cwd, **kwargs)


# ---------------------------------------------------------------------------------------
# The shared Python and the proxy

def _pip_install_requirements(venv):
    r = subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(venv)], capture_output=True, text=True)
    if r.returncode != 0:
        raise HubError(f"{SYSTEM_PYTHON} -m venv failed: {r.stderr.strip()[-300:]} "
                       "(apt-get install -y python3-venv)")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--no-compile"]
    run(pip + ["-r", str(REPO / "requirements.txt"), "-r", str(HUB_REQUIREMENTS)], capture_output=True)


def _requirements_key(wanted):
    version = subprocess.run([SYSTEM_PYTHON, "--version"], capture_output=True, text=True).stdout.strip()
    return hashlib.sha256((version + "\n" + wanted).encode()).hexdigest()[:16]


def _seeded_venv(seed_dir, wanted, log=log):
    """The venv of the pinned requirements kept under ``seed_dir`` (one per requirements
    and Python version; built once, under a lock; other keys removed)."""
    import fcntl

    venvs = Path(seed_dir) / "venv"
    venvs.mkdir(parents=True, exist_ok=True)
    key = _requirements_key(wanted)
    seed = venvs / key
    with open(venvs / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = seed / ".coursepack-seed-complete"
        if not done.is_file():
            log(f"building the venv seed {seed} (pinned requirements and JupyterHub; once)")
            shutil.rmtree(seed, ignore_errors=True)
            _pip_install_requirements(seed)
            done.write_text(wanted)
        for other in venvs.iterdir():
            if other.is_dir() and other.name != key:
                shutil.rmtree(other, ignore_errors=True)
    return seed


def _copy_venv(src, dest):
    """Copy the venv ``src`` to ``dest`` as hard links (``cp -al``: no data copied or
    written back, and removing the copy only unlinks). The files are shared with the seed,
    so nothing may write one in place: the scripts in bin/ and pyvenv.cfg, which name the
    venv's folder, are rewritten as new files; everything later written into the venv (the
    pack, the sandbox's kernel, the nbgrader config, .pyc files) is a new file or an
    atomic replace."""
    shutil.rmtree(dest, ignore_errors=True)
    run(["cp", "-al", str(src), str(dest)])
    os.unlink(dest / ".coursepack-seed-complete")
    # the folder the venv was built in, from pip's script: #!<that folder>/bin/python
    first = (dest / "bin" / "pip").read_bytes().split(b"\n", 1)[0]
    old = first[2:].rsplit(b"/bin/", 1)[0] if first.startswith(b"#!/") and b"/bin/" in first else str(src).encode()
    new = str(dest).encode()
    for path in [*(dest / "bin").iterdir(), dest / "pyvenv.cfg"]:
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if old in data and b"\0" not in data[:4096]:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(data.replace(old, new))
            os.chmod(tmp, path.stat().st_mode & 0o7777)
            os.replace(tmp, path)


def build_venv(hub_dir, log=log, seed_dir=None):
    """DIR/venv from Debian's python3, readable by every user; rebuilt when the
    requirements change, the pack reinstalled when its files change. With ``seed_dir``
    (the tests) the requirements are installed once there and copied."""
    venv = Path(hub_dir) / "venv"
    stamp = venv / ".coursepack-requirements"
    wanted = (REPO / "requirements.txt").read_text() + HUB_REQUIREMENTS.read_text()
    if not Path(SYSTEM_PYTHON).exists():
        raise HubError(f"{SYSTEM_PYTHON} is missing: apt-get install -y python3 python3-venv")
    if not (stamp.is_file() and stamp.read_text() == wanted):
        if seed_dir is not None:
            _copy_venv(_seeded_venv(seed_dir, wanted, log), venv)
        else:
            log(f"building {venv} from {SYSTEM_PYTHON} (the pinned requirements and JupyterHub)")
            shutil.rmtree(venv, ignore_errors=True)
            _pip_install_requirements(venv)
        stamp.write_text(wanted)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    with_tmp = dict(os.environ, TMPDIR=str(Path(hub_dir) / "state"))
    build = Path(hub_dir) / "state" / "pack-src"
    shutil.rmtree(build, ignore_errors=True)
    shutil.copytree(REPO, build, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", "data", "submitted", "autograded",
        "feedback", "gradebook.db", ".collect-*", "node_modules"))
    pack_stamp = venv / ".coursepack-pack"
    digest = _tree_digest(build)
    if not (pack_stamp.is_file() and pack_stamp.read_text() == digest):
        run(pip + ["--no-deps", "--force-reinstall", str(build)], capture_output=True, env=with_tmp)
        # the grading sandbox's kernel, registered here (root owns the venv)
        run([str(venv / "bin" / "python"), "-m", "grader.sandbox", "install"], capture_output=True)
        run(["chmod", "-R", "a+rX", str(venv)])
        pack_stamp.write_text(digest)
    shutil.rmtree(build, ignore_errors=True)
    return venv


def _tree_digest(folder):
    """sha256 over the relative paths and contents of every file under ``folder``."""
    h = hashlib.sha256()
    folder = Path(folder)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def install_proxy(hub_dir, log=log, seed_dir=None):
    """configurable-http-proxy from npm into DIR/proxy (with ``seed_dir``: installed once
    there and copied; node_modules/.bin links are relative)."""
    prefix = Path(hub_dir) / "proxy"
    proxy = prefix / "node_modules" / ".bin" / "configurable-http-proxy"
    if proxy.exists():
        return proxy
    if shutil.which("npm") is None:
        raise HubError("npm is missing: apt-get install -y nodejs npm (configurable-http-proxy)")
    if seed_dir is not None:
        import fcntl

        seed = Path(seed_dir) / f"proxy-{PROXY_PACKAGE.replace('@', '-')}"
        Path(seed_dir).mkdir(parents=True, exist_ok=True)
        with open(Path(seed_dir) / ".lock-proxy", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (seed / "node_modules" / ".bin" / "configurable-http-proxy").exists():
                shutil.rmtree(seed, ignore_errors=True)
                _npm_install(seed, log)
        shutil.rmtree(prefix, ignore_errors=True)
        run(["cp", "-a", str(seed), str(prefix)])
    else:
        _npm_install(prefix, log)
    run(["chmod", "-R", "a+rX", str(prefix)])
    return proxy


def _npm_install(prefix, log=log):
    log(f"installing {PROXY_PACKAGE} (npm)")
    run(["npm", "install", "--prefix", str(prefix), "--no-fund", "--no-audit",
         "--loglevel=error", PROXY_PACKAGE], capture_output=True)


# ---------------------------------------------------------------------------------------
# The course

NBGRADER_GLOBAL = '''\
# Written by hub/setup.py: nbgrader settings for every user of this hub (venv-wide).
from nbgrader.auth import JupyterHubAuthPlugin
c = get_config()
c.Exchange.root = {exchange!r}
c.Exchange.path_includes_course = True
c.Authenticator.plugin_class = JupyterHubAuthPlugin
# The exchange's permissions are set by hub/setup.py (root-owned root, unlistable inbound):
# groupshared stops nbgrader insisting on a world-writable exchange root (#1225).
c.CourseDirectory.groupshared = True
c.ExchangeFactory.submit = "grader.exchange.PrivateSubmit"
c.NbGrader.course_titles = {{{course!r}: {course!r}}}
'''

NBGRADER_GRADER = '''\
# Written by hub/setup.py: the grader account's course.
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = {course!r}
'''


def prepare_course(hub_dir, course, grader, assignments, students, log=log):
    """The course root of the grader account: the pack's config, solutions and release;
    the roster's students in its gradebook."""
    import pwd

    hub_dir = Path(hub_dir)
    pw = pwd.getpwnam(grader)
    root = hub_dir / "courses" / course
    (hub_dir / "courses").mkdir(exist_ok=True)
    os.chmod(hub_dir / "courses", 0o755)
    fresh = not root.exists()
    root.mkdir(exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    names = assignments or sorted(p.parent.name for p in (REPO / "solutions").glob("*/*.ipynb"))
    for name in names:
        src = REPO / "solutions" / name
        if not src.is_dir():
            raise HubError(f"no assignment {name!r} under {REPO / 'solutions'}")
        dest = root / "solutions" / name
        if not dest.exists():
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    write_roster(root / "roster.csv", students)
    run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", str(root)])
    os.chmod(root, 0o700)
    jdir = Path(pw.pw_dir) / ".jupyter"
    jdir.mkdir(exist_ok=True)
    (jdir / "nbgrader_config.py").write_text(NBGRADER_GRADER.format(root=str(root), course=course))
    run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", str(jdir)])
    venv = hub_dir / "venv"
    py = str(venv / "bin" / "python")
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin"}
    if fresh or not (root / "notebooks").is_dir():
        log(f"releasing {', '.join(names)} into {root / 'notebooks'} (nbgrader generate_assignment)")
        as_user(grader, [py, "-m", "grader", "--root", str(root), "release"], env=env, cwd=str(root),
                capture_output=True)
    as_user(grader, [py, "-m", "grader", "--root", str(root), "roster", str(root / "roster.csv")],
            env=env, cwd=str(root), capture_output=True)
    return root


def write_roster(path, students):
    import csv

    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "first", "last", "email", "lms_id"])
        for s in students:
            w.writerow([s.id, s.first, s.last, s.email, s.lms_id])
    roster_mod.read_roster(tmp)
    os.replace(tmp, path)


def prepare_exchange(hub_dir, course, grader):
    """The exchange with its permissions (see the module docstring)."""
    import pwd

    pw = pwd.getpwnam(grader)
    ex = Path(hub_dir) / "exchange"
    ex.mkdir(exist_ok=True)
    os.chown(ex, 0, 0)
    os.chmod(ex, 0o755)
    modes = {"": 0o755, "outbound": 0o755, "inbound": 0o2773, "feedback": 0o2771}
    for sub, mode in modes.items():
        p = ex / course / sub if sub else ex / course
        p.mkdir(exist_ok=True)
        os.chown(p, pw.pw_uid, pw.pw_gid)
        os.chmod(p, mode)
    return ex


# ---------------------------------------------------------------------------------------
# The hub process

def state_dir(hub_dir):
    return Path(hub_dir) / "state"


def read_course(hub_dir):
    path = state_dir(hub_dir) / "course.json"
    if not path.is_file():
        raise HubError(f"{path} is missing: run `make hub COURSE=... ROSTER=...` first")
    return json.loads(path.read_text())


def hub_pid(hub_dir):
    path = state_dir(hub_dir) / "hub.pid"
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def api(course, method, path, body=None, token=None, timeout=30):
    """Call the hub's REST API; returns (status, parsed JSON or text)."""
    url = f"http://127.0.0.1:{course['port']}/hub/api{path}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"token {token or course['_admin_token']}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read().decode()
            status = resp.status
    except urllib.error.HTTPError as exc:
        raw = exc.read().decode(errors="replace")
        status = exc.code
    try:
        return status, json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return status, raw


def load_course(hub_dir):
    course = read_course(hub_dir)
    course["_admin_token"] = (state_dir(hub_dir) / "admin-token").read_text().strip()
    return course


def start_hub(hub_dir, log=log):
    hub_dir = Path(hub_dir)
    if hub_pid(hub_dir):
        return hub_pid(hub_dir)
    course = load_course(hub_dir)
    venv = Path(course["venv"])
    logfile = open(state_dir(hub_dir) / "hub.log", "ab")
    env = {"PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
           "HOME": str(state_dir(hub_dir))}
    proc = subprocess.Popen([str(venv / "bin" / "jupyterhub"), "-f", str(hub_dir / "jupyterhub_config.py")],
                            cwd=state_dir(hub_dir), stdout=logfile, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    logfile.close()
    (state_dir(hub_dir) / "hub.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HubError(f"jupyterhub exited ({proc.returncode}); see {state_dir(hub_dir) / 'hub.log'}:\n"
                           + _tail(state_dir(hub_dir) / "hub.log"))
        try:
            status, _ = api(course, "GET", "/", timeout=5)
            if status == 200 and _service_up(course):
                return proc.pid
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.5)
    stop_hub(hub_dir)
    raise HubError(f"the hub did not answer within {START_TIMEOUT_S} s; see "
                   f"{state_dir(hub_dir) / 'hub.log'}:\n" + _tail(state_dir(hub_dir) / "hub.log"))


def _service_up(course):
    try:
        with socket.create_connection(("127.0.0.1", course["service_port"]), timeout=1):
            return True
    except OSError:
        return False


def _tail(path, n=25):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def stop_hub(hub_dir, log=log):
    """Stop the hub (it stops the proxy, the servers and the formgrader), bounded."""
    import psutil

    pid = hub_pid(hub_dir)
    if pid is None:
        stop_leftovers(hub_dir)          # of a hub that ended without stopping them
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except OSError:
        pass
    try:
        proc = psutil.Process(pid)
        proc.wait(timeout=STOP_TIMEOUT_S)
    except psutil.TimeoutExpired:
        os.killpg(pid, signal.SIGKILL)
    except psutil.NoSuchProcess:
        pass
    for name in ("proxy.pid",):
        try:
            ppid = int((state_dir(hub_dir) / name).read_text())
            os.kill(ppid, signal.SIGTERM)
        except (OSError, ValueError):
            pass
    left = stop_leftovers(hub_dir)
    if left:
        log(f"stopped {len(left)} process(es) the hub left running: {', '.join(left)}")
    (state_dir(hub_dir) / "hub.pid").unlink(missing_ok=True)
    return True


def stop_leftovers(hub_dir, timeout=LEFTOVER_TIMEOUT_S):
    """Stop what this hub started and did not stop itself: the hub stops its servers when
    it ends (cleanup_servers), but a server it could not stop in time, or every server of
    a hub killed after STOP_TIMEOUT_S, keeps running in a session of its own. They are
    found by their command line: an argument that is a path in this hub's folder (its
    venv's python, the proxy, the config), this process and its parents excepted.
    SIGTERM, then SIGKILL after ``timeout`` seconds. Returns "pid command line" of each."""
    import psutil

    folder = str(Path(hub_dir).resolve())
    me = psutil.Process()
    spared = {me.pid, *(p.pid for p in me.parents())}     # e.g. `make hub-stop HUB_DIR=...`
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if proc.pid not in spared and any(
                    arg == folder or arg.startswith(folder + os.sep)
                    for arg in proc.info["cmdline"] or []):
                found.append(proc)
        except psutil.Error:
            continue
    names = []
    for proc in found:
        try:
            names.append(f"{proc.pid} {' '.join(proc.info['cmdline'])[:160]}")
            proc.terminate()
        except psutil.Error:
            continue
    _, alive = psutil.wait_procs(found, timeout=timeout)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=timeout)
    return names


def sync_users(hub_dir, course):
    """Add every roster student and tutor to the running hub and its groups."""
    users = course["students"] + course["tutors"]
    status, existing = api(course, "GET", "/users?limit=1000")
    have = {u["name"] for u in existing} if status == 200 else set()
    missing = [u for u in users if u not in have]
    if missing:
        api(course, "POST", "/users", {"usernames": missing})
    api(course, "POST", f"/groups/nbgrader-{course['course']}/users", {"users": course["students"]})
    api(course, "POST", f"/groups/formgrade-{course['course']}/users", {"users": course["tutors"]})


# ---------------------------------------------------------------------------------------
# up / add / down

def up(course_id, roster_path, tutors=(), hub_dir=DEFAULT_DIR, port=8000, home_base="/home",
       assignments=None, start=True, ports=None, mnist_dir=None, log=log, seed_dir=None):
    """Everything `make hub` does; returns the course dict (course.json). ``seed_dir``: a
    folder where the venv's requirements and the proxy are installed once and copied
    from (the tests; see build_venv)."""
    if os.geteuid() != 0:
        raise HubError("make hub creates Unix users and spawns servers as them: run it as root "
                       "(sudo make hub ...)")
    check_course_id(course_id)
    students = roster_mod.read_roster(roster_path)
    tutors = [t for t in (tutors or []) if t]
    for t in tutors:
        if not roster_mod.ID_PATTERN.match(t):
            raise HubError(f"tutor login {t!r} is not a valid user name")
    clash = sorted(set(tutors) & {s.id for s in students})
    if clash:
        raise HubError(f"{', '.join(clash)} is both a tutor and a student in {roster_path}")
    grader = f"grader-{course_id}"[:32]
    hub_dir = Path(hub_dir).resolve()
    hub_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(hub_dir, 0o755)
    for parent in hub_dir.parents:
        if parent.stat().st_mode & 0o001 == 0:
            raise HubError(f"{parent} is not searchable by other users (mode "
                           f"{oct(parent.stat().st_mode & 0o777)}): pick a --dir other users can reach")
    state = state_dir(hub_dir)
    state.mkdir(exist_ok=True)
    os.chmod(state, 0o700)
    for name in ("cookie_secret",):
        if not (state / name).exists():
            (state / name).write_text(secrets.token_hex(32) + "\n")
            os.chmod(state / name, 0o600)
    for name in ("service-token", "admin-token", "trial-password"):
        if not (state / name).exists():
            (state / name).write_text(secrets.token_urlsafe(24 if "token" in name else 9) + "\n")
            os.chmod(state / name, 0o600)

    created_file = state / "created-users"
    created = created_file.read_text().split() if created_file.exists() else []
    Path(home_base).mkdir(parents=True, exist_ok=True)
    new = []
    for name in [grader, *tutors, *(s.id for s in students)]:
        if ensure_user(name, home_base, new):
            created_file.write_text("\n".join(created + new) + "\n")
    if new:
        log(f"created Unix users: {', '.join(new)}")
    import pwd

    for name in [*tutors, *(s.id for s in students)]:
        home = Path(pwd.getpwnam(name).pw_dir)
        if home.is_dir() and home.stat().st_mode & 0o007:
            log(f"WARNING: {home} is readable by other users (mode {oct(home.stat().st_mode & 0o777)}); "
                f"chmod 700 {home} keeps their copies private")

    venv = build_venv(hub_dir, log, seed_dir)
    proxy = install_proxy(hub_dir, log, seed_dir)
    exchange = prepare_exchange(hub_dir, course_id, grader)
    cfgdir = venv / "etc" / "jupyter"
    cfgdir.mkdir(parents=True, exist_ok=True)
    (cfgdir / "nbgrader_config.py").write_text(NBGRADER_GLOBAL.format(exchange=str(exchange), course=course_id))
    os.chmod(cfgdir / "nbgrader_config.py", 0o644)
    root = prepare_course(hub_dir, course_id, grader, assignments, students, log)

    old = json.loads((state / "course.json").read_text()) if (state / "course.json").exists() else {}
    ports = ports or {}
    course = {
        "course": course_id, "grader": grader, "grader_home": pwd.getpwnam(grader).pw_dir,
        "tutors": sorted(set(old.get("tutors", [])) | set(tutors)),
        "students": sorted(set(old.get("students", [])) | {s.id for s in students}),
        "venv": str(venv), "proxy": str(proxy), "exchange": str(exchange), "course_root": str(root),
        "port": ports.get("port", old.get("port", port)),
        "hub_port": ports.get("hub_port", old.get("hub_port", 8081)),
        "proxy_api_port": ports.get("proxy_api_port", old.get("proxy_api_port", 8001)),
        "service_port": ports.get("service_port", old.get("service_port", 9999)),
        "mnist_dir": mnist_dir or os.environ.get("MNIST_DIR", ""),
    }
    tmp = state / "course.json.tmp"
    tmp.write_text(json.dumps(course, indent=1) + "\n")
    os.replace(tmp, state / "course.json")
    shutil.copy(REPO / "hub" / "jupyterhub_config.py", hub_dir / "jupyterhub_config.py")
    os.chmod(hub_dir / "jupyterhub_config.py", 0o644)
    if start:
        running = hub_pid(hub_dir) is not None
        start_hub(hub_dir, log)
        if running:
            sync_users(hub_dir, load_course(hub_dir))
        password = (state / "trial-password").read_text().strip()
        who = tutors[0] if tutors else students[0].id
        log(f"hub running: http://127.0.0.1:{course['port']}/  (log: {state / 'hub.log'})")
        log(f"first login: user {who!r}, trial password {password!r} (DummyAuthenticator: a local "
            "trial only; hub/README.md names the line to change)")
        log(f"formgrader: http://127.0.0.1:{course['port']}/services/{course_id}/formgrader "
            f"(tutors: {', '.join(course['tutors']) or 'none yet: TUTORS=login'})")
    return course


def down(hub_dir=DEFAULT_DIR, remove=False, log=log):
    hub_dir = Path(hub_dir)
    stopped = stop_hub(hub_dir, log)
    log("hub stopped" if stopped else "hub was not running")
    if remove:
        created_file = state_dir(hub_dir) / "created-users"
        names = created_file.read_text().split() if created_file.exists() else []
        remove_users(names)
        created_file.unlink(missing_ok=True)
        log(f"removed Unix users: {', '.join(names) or 'none'}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hub.setup", description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    u = steps.add_parser("up")
    u.add_argument("--course", required=True)
    u.add_argument("--roster", required=True)
    u.add_argument("--tutors", default="", help="comma-separated tutor logins")
    u.add_argument("--dir", default=str(DEFAULT_DIR))
    u.add_argument("--port", type=int, default=None, help="the hub's public port (default 8000)")
    u.add_argument("--hub-port", type=int, default=None, help="the hub's internal API port (default 8081)")
    u.add_argument("--proxy-api-port", type=int, default=None, help="the proxy's API port (default 8001)")
    u.add_argument("--service-port", type=int, default=None, help="the formgrader's port (default 9999)")
    u.add_argument("--home-base", default="/home")
    u.add_argument("--assignments", default="", help="comma-separated (default: all of solutions/)")
    u.add_argument("--seed-dir", default=None,
                   help="install the venv's requirements and the proxy once into this folder and "
                        "copy them from there (repeated trial hubs, the tests)")
    d = steps.add_parser("down")
    d.add_argument("--dir", default=str(DEFAULT_DIR))
    d.add_argument("--remove-users", action="store_true", help="also delete the users `up` created")
    args = parser.parse_args(argv)
    try:
        if args.step == "up":
            ports = {k: getattr(args, k) for k in ("port", "hub_port", "proxy_api_port", "service_port")
                     if getattr(args, k) is not None}
            up(args.course, args.roster, args.tutors.split(","), args.dir, home_base=args.home_base,
               assignments=[a for a in args.assignments.split(",") if a] or None, ports=ports,
               seed_dir=args.seed_dir)
        else:
            down(args.dir, args.remove_users)
    except (HubError, roster_mod.RosterError) as exc:
        print(f"make hub: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
