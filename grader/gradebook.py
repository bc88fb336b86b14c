"""Where the gradebook lives: SQLite on one machine, PostgreSQL for a cluster.

One setting chooses it, ``$COURSE_DB_URL``, an SQLAlchemy URL (nbgrader takes any):

- unset or empty: ``gradebook.db`` at the course root (SQLite, with a generous busy
  timeout for parallel grading), as before;
- ``postgresql://user[:password]@host[:port]/database``: a PostgreSQL database (driver
  psycopg2, pinned in requirements.txt: a plain ``postgresql://`` URL is read as
  ``postgresql+psycopg2://``, which SQLAlchemy 2.1 no longer assumes; the password may instead come from ``~/.pgpass`` or ``$PGPASSFILE``, so it
  need not sit in the environment). Every process of a grading run uses it: the
  ``nbgrader`` commands (nbgrader_config.py reads it through
  :func:`grader.preprocessors.gradebook_url`), the report, the export, and the cluster's
  grading tasks (Slurm passes the submitting shell's environment on).

It also holds the two tools a course needs to move to PostgreSQL:

- :class:`TrialCluster` (``make gradebook-postgres``): a private PostgreSQL cluster for a
  trial, made with Debian's ``initdb`` and ``pg_ctl`` in a folder of its own
  (``build/postgres/`` by default), listening on 127.0.0.1 only with a generated
  password; it prints the URL to put in ``$COURSE_DB_URL``. Run as root it runs as the
  ``postgres`` user (PostgreSQL refuses root).
- :func:`migrate` (``make gradebook-migrate TO=url``): copies every table of an existing
  gradebook (SQLite, usually) into an empty PostgreSQL one in one transaction, then
  compares the two row by row (:func:`differences`); scores, manual grades, comments,
  flags, late penalties, extra credit, students and the notebooks' source all move.
  The grading records in build/grading/records/ (the pack's flags) are files and stay
  where they are.
"""
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ENV = "COURSE_DB_URL"                # read by grader.settings.db_url
SQLITE_BUSY_TIMEOUT = 120            # seconds a connection waits for another writer
SUPPORTED = ("sqlite", "postgresql")
TRIAL_DIR = Path("build") / "postgres"
TRIAL_USER = "coursepack"
TRIAL_DB = "gradebook"
PG_WAIT_S = 60                        # bounded waits for pg_ctl start/stop


class GradebookError(RuntimeError):
    """A gradebook that cannot be used or moved; the message names the setting, file
    or URL and says what to do."""


# ---------------------------------------------------------------------------------------
# The setting

def sqlite_url(course_root):
    """The default: gradebook.db at the course root, with a busy timeout."""
    return f"sqlite:///{Path(course_root) / 'gradebook.db'}?timeout={SQLITE_BUSY_TIMEOUT}"


def configured_url():
    """``$COURSE_DB_URL`` checked (None when unset or empty); GradebookError names the
    variable when it is not a usable URL."""
    from grader import settings

    raw = settings.db_url()
    if not raw:
        return None
    return normalise(raw, f"${ENV}")


def normalise(raw, where):
    """``raw`` checked (:func:`check_url`), with a plain ``postgresql://`` given the
    psycopg2 driver; returned as a URL string (password included)."""
    url = check_url(raw, where)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg2")
    return url.render_as_string(hide_password=False)


def check_url(raw, where):
    """Raise GradebookError unless ``raw`` is an SQLite or PostgreSQL SQLAlchemy URL."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(raw)
    except ArgumentError:
        raise GradebookError(
            f"{where} is {mask(raw)!r}: not a database URL (expected sqlite:///path/gradebook.db "
            "or postgresql://user@host:port/database)") from None
    backend = url.get_backend_name()
    if backend not in SUPPORTED:
        raise GradebookError(f"{where} is {mask(raw)!r}: database {backend!r} is not supported "
                             f"(use {' or '.join(SUPPORTED)})")
    if backend == "postgresql" and not url.database:
        raise GradebookError(f"{where} is {mask(raw)!r}: no database name after the host")
    return url


def url(course_root):
    """The gradebook URL of the course at ``course_root``: ``$COURSE_DB_URL`` if set,
    else its SQLite gradebook.db."""
    return configured_url() or sqlite_url(course_root)


def backend_name(db_url):
    """"sqlite" or "postgresql"."""
    from sqlalchemy.engine import make_url

    return make_url(db_url).get_backend_name()


def mask(db_url):
    """The URL with its password hidden (for logs, reports and errors)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(db_url).render_as_string(hide_password=True)
    except Exception:     # not even a URL: show it without anything after a colon-at
        return str(db_url).split("@")[-1]


def describe(course_root):
    """One line for the report: which gradebook and where."""
    chosen = url(course_root)
    how = f"${ENV}" if configured_url() else "default"
    return f"Gradebook: {mask(chosen)} ({backend_name(chosen)}, {how})"


def check_connection(db_url, timeout=10):
    """Raise GradebookError with the reason unless the database answers."""
    from sqlalchemy import create_engine, text

    db_url = normalise(db_url, "the gradebook URL")
    args = {"connect_args": {"connect_timeout": timeout}} if backend_name(db_url) == "postgresql" else {}
    try:
        engine = create_engine(db_url, **args)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GradebookError(f"cannot connect to the gradebook {mask(db_url)}: {first}") from None


def prepare(db_url):
    """Make a PostgreSQL gradebook ready for nbgrader: its tables, and the course row
    nbgrader's assignments refer to. nbgrader 0.9 writes ``course_id = ''`` into every
    assignment of a course without ``CourseDirectory.course_id`` but never creates that
    course; SQLite does not check the foreign key, PostgreSQL refuses the assignment. An
    SQLite gradebook is left exactly as nbgrader makes it."""
    if backend_name(db_url) != "postgresql":
        return
    import sqlalchemy.exc
    from nbgrader.api import Course, Gradebook

    check_connection(db_url)
    with Gradebook(normalise(db_url, "the gradebook URL")) as gb:
        if gb.db.get(Course, "") is None:
            gb.db.add(Course(id=""))
            try:
                gb.db.commit()
            except sqlalchemy.exc.IntegrityError:     # another process made it meanwhile
                gb.db.rollback()


# ---------------------------------------------------------------------------------------
# A private PostgreSQL cluster for a trial

def postgres_bindir():
    """The folder of Debian's PostgreSQL server programs (initdb, pg_ctl), newest first;
    GradebookError with the install command when there is none."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: [int(x) if x.isdigit() else x for x in p.parent.parent.name.split(".")],
                   reverse=True)
    if found:
        return found[0].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise GradebookError("PostgreSQL's server programs (initdb, pg_ctl) are not installed: "
                         "`apt-get install postgresql` (Debian/Ubuntu)")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TrialCluster:
    """A PostgreSQL cluster in ``folder`` (data/, run/ for the socket, log, url): made
    once by :meth:`start` (initdb), started and stopped with pg_ctl, bounded waits.

    ``folder/url`` (mode 0600) keeps the URL; ``folder/cluster.json`` the port and the
    server's owner. Run as root, the cluster's files belong to the ``postgres`` user,
    so ``folder`` and every folder above it must be enterable by that user."""

    def __init__(self, folder):
        self.folder = Path(folder).resolve()
        self.data = self.folder / "data"
        self.run = self.folder / "run"
        self.log = self.folder / "postgres.log"
        self.url_file = self.folder / "url"
        self.meta_file = self.folder / "cluster.json"

    # who runs the server
    def _owner(self):
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam("postgres")
        except KeyError:
            raise GradebookError("running as root, the trial cluster runs as the `postgres` user, "
                                 "which does not exist: `apt-get install postgresql` creates it") from None

    def _run(self, args, owner, timeout=PG_WAIT_S, env=None, check=True):
        kwargs = {}
        if owner is not None:
            kwargs.update(user=owner.pw_uid, group=owner.pw_gid, extra_groups=[])
        full_env = dict(os.environ, LC_ALL="C.UTF-8", **(env or {}))
        if owner is not None:
            full_env["HOME"] = owner.pw_dir
        try:
            proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=full_env,
                                  cwd=self.folder, **kwargs)
        except subprocess.TimeoutExpired:
            raise GradebookError(f"{Path(args[0]).name} did not finish within {timeout} s "
                                 f"(log: {self.log})") from None
        if check and proc.returncode != 0:
            msg = (proc.stderr.strip() or proc.stdout.strip() or "no message").splitlines()[-1]
            raise GradebookError(f"{Path(args[0]).name} failed: {msg} (log: {self.log})")
        return proc

    def _meta(self):
        try:
            return json.loads(self.meta_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def exists(self):
        return (self.data / "PG_VERSION").is_file()

    def running(self):
        pidfile = self.data / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def url(self):
        try:
            return self.url_file.read_text(encoding="utf-8").strip()
        except OSError:
            return None

    def _init(self, owner, port):
        bindir = postgres_bindir()
        self.folder.mkdir(parents=True, exist_ok=True)
        for sub in (self.data, self.run):
            sub.mkdir(mode=0o700, exist_ok=True)
        password = secrets.token_urlsafe(18)
        pwfile = self.folder / ".pwfile"
        pwfile.write_text(password + "\n", encoding="utf-8")
        os.chmod(pwfile, 0o600)
        if owner is not None:
            for path in (self.folder, self.data, self.run, pwfile):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            self._check_reachable(owner)
        try:
            self._run([str(bindir / "initdb"), "-D", str(self.data), "-U", TRIAL_USER,
                       f"--pwfile={pwfile}", "--auth-local=scram-sha-256",
                       "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale"],
                      owner, timeout=300)
        finally:
            pwfile.unlink(missing_ok=True)
        # Only 127.0.0.1 and the socket in run/; nothing else may connect.
        with open(self.data / "postgresql.auto.conf", "a", encoding="utf-8") as fh:
            fh.write(f"listen_addresses = '127.0.0.1'\nport = {port}\n"
                     f"unix_socket_directories = '{self.run}'\n")
        url_text = f"postgresql://{TRIAL_USER}:{password}@127.0.0.1:{port}/{TRIAL_DB}"
        fd = os.open(self.url_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(url_text + "\n")
        self.meta_file.write_text(json.dumps({"port": port, "bindir": str(bindir),
                                              "owner": owner.pw_name if owner else None}) + "\n")
        return password

    def _check_reachable(self, owner):
        probe = self._run(["/usr/bin/test", "-w", str(self.data)], owner, check=False)
        if probe.returncode != 0:
            raise GradebookError(
                f"{self.folder}: the postgres user cannot reach this folder (a folder above it "
                "is closed to other users); choose another place with --dir, e.g. under /tmp")

    def start(self, port=None, log=print):
        """Create the cluster if needed, start it, create the database; returns the URL."""
        owner = self._owner()
        fresh = not self.exists()
        if fresh:
            self._init(owner, port or _free_port())
        meta = self._meta()
        bindir = Path(meta.get("bindir") or postgres_bindir())
        if not self.running():
            self._run([str(bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                       "-w", "-t", str(PG_WAIT_S), "start"], owner, timeout=PG_WAIT_S + 10)
        if fresh:
            self._create_database()
        url_text = self.url()
        log(f"PostgreSQL trial cluster running in {self.folder} (port {meta.get('port')}, "
            f"owner {meta.get('owner') or 'you'})")
        return url_text

    def _create_database(self):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = make_url(normalise(self.url(), str(self.url_file))).set(database="postgres")
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{TRIAL_DB}"'))
        finally:
            engine.dispose()

    def stop(self, log=print):
        """Stop the server (fast shutdown, bounded wait; killed if it does not stop)."""
        if not self.running():
            return False
        owner = self._owner()
        bindir = Path(self._meta().get("bindir") or postgres_bindir())
        try:
            self._run([str(bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                       "-t", str(PG_WAIT_S), "stop"], owner, timeout=PG_WAIT_S + 10)
        except GradebookError:
            self._kill()
        log(f"PostgreSQL trial cluster in {self.folder} stopped")
        return True

    def _kill(self):
        try:
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass
        deadline = time.monotonic() + 10
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.2)

    def remove(self):
        """Stop the server and delete the folder."""
        self.stop(log=lambda *_: None)
        shutil.rmtree(self.folder, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# Migration

def _tables():
    from nbgrader.api import Base

    return list(Base.metadata.sorted_tables)


def _rows(conn, table):
    order = [c for c in table.primary_key.columns] or list(table.columns)
    return [dict(r) for r in conn.execute(table.select().order_by(*order)).mappings()]


def _alembic_versions(conn):
    from sqlalchemy import inspect, text

    if "alembic_version" not in inspect(conn).get_table_names():
        return []
    return sorted(r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version")))


def migrate(src_url, dest_url, log=print):
    """Copy the gradebook at ``src_url`` into the empty database at ``dest_url`` (one
    transaction: on any error the destination is left as it was), then compare them.
    Returns {table name: rows copied}. GradebookError names the URL and the reason."""
    from sqlalchemy import create_engine, inspect, text

    src_url = normalise(src_url, "the source gradebook")
    dest_url = normalise(dest_url, "the destination")
    if backend_name(src_url) == "sqlite":
        path = src_url.split("///", 1)[-1].split("?", 1)[0]
        if not Path(path).is_file():
            raise GradebookError(f"the source gradebook {path} does not exist")
    if mask(src_url) == mask(dest_url):
        raise GradebookError("the source and the destination are the same database")
    check_connection(src_url)
    check_connection(dest_url)
    tables = _tables()
    names = {t.name for t in tables}
    src_engine, dest_engine = create_engine(src_url), create_engine(dest_url)
    counts = {}
    added = []
    try:
        with src_engine.connect() as src:
            missing = sorted(names - set(inspect(src).get_table_names()))
            if missing:
                raise GradebookError(f"{mask(src_url)} is not an nbgrader gradebook (no table "
                                     f"{', '.join(missing)})")
            versions = _alembic_versions(src)
            with dest_engine.begin() as dest:
                present = set(inspect(dest).get_table_names())
                used = [n for n in sorted(present & (names | {"alembic_version"}))
                        if dest.execute(text(f'SELECT COUNT(*) FROM "{n}"')).scalar()]
                if used:
                    raise GradebookError(
                        f"the destination {mask(dest_url)} already holds a gradebook (rows in "
                        f"{', '.join(used)}); migrate into an empty database")
                from nbgrader.api import Base

                Base.metadata.create_all(dest)
                added = _missing_courses(src)
                if added:
                    course = next(t for t in tables if t.name == "course")
                    dest.execute(course.insert(), [{"id": cid} for cid in added])
                    log(f"added the course row(s) {', '.join(repr(c) for c in added)} that the "
                        "assignments refer to (SQLite does not check that reference; PostgreSQL does)")
                for table in tables:
                    rows = _rows(src, table)
                    if rows:
                        try:
                            dest.execute(table.insert(), rows)
                        except Exception as exc:
                            first = str(exc).strip().splitlines()[0]
                            raise GradebookError(f"copying table {table.name} into {mask(dest_url)} "
                                                 f"failed: {first}; nothing was written") from None
                    counts[table.name] = len(rows)
                if "alembic_version" not in present:
                    dest.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
                for version in versions:
                    dest.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
    finally:
        src_engine.dispose()
        dest_engine.dispose()
    problems = differences(src_url, dest_url, added_courses=added)
    if problems:
        raise GradebookError("the copy differs from the source:\n  " + "\n  ".join(problems[:20]))
    log(f"copied {sum(counts.values())} rows in {len(counts)} tables from {mask(src_url)} to "
        f"{mask(dest_url)}; every row compared equal")
    return counts


def _missing_courses(conn):
    """Course ids that assignments refer to but the course table lacks."""
    from sqlalchemy import text

    rows = conn.execute(text("SELECT DISTINCT course_id FROM assignment WHERE course_id NOT IN "
                             "(SELECT id FROM course)"))
    return sorted(r[0] for r in rows if r[0] is not None)


def differences(a_url, b_url, added_courses=()):
    """Lines describing every table whose rows differ between two gradebooks ([] when
    they hold the same rows). ``added_courses``: course ids that only ``b`` holds, on
    purpose (see :func:`migrate`)."""
    from sqlalchemy import create_engine

    out = []
    a_url, b_url = normalise(a_url, "the first gradebook"), normalise(b_url, "the second gradebook")
    a_engine, b_engine = create_engine(a_url), create_engine(b_url)
    try:
        with a_engine.connect() as a, b_engine.connect() as b:
            for table in _tables():
                ra, rb = _rows(a, table), _rows(b, table)
                if table.name == "course":
                    rb = [r for r in rb if r["id"] not in set(added_courses)]
                if ra != rb:
                    only_a = [r for r in ra if r not in rb]
                    out.append(f"{table.name}: {len(ra)} vs {len(rb)} rows, first difference "
                               f"{only_a[0] if only_a else [r for r in rb if r not in ra][0]}")
            if _alembic_versions(a) != _alembic_versions(b):
                out.append(f"alembic_version: {_alembic_versions(a)} vs {_alembic_versions(b)}")
    finally:
        a_engine.dispose()
        b_engine.dispose()
    return out
