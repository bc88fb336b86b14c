"""Headline numbers: ``record(key, value)`` merges them into one flat JSON file.

The file is ``$COURSE_RESULTS`` if set, else ``build/results.json`` in full mode and
``build/results-quick.json`` in quick mode (``helpers.mode``), with ``build/`` at the
repository root (found from this package's location, never the current directory).
``make reproduce`` runs every notebook in full mode, then ``tools.report`` turns
``build/results.json`` into ``build/REPORT.md``.

Writes are atomic (a temporary file renamed over the old one) and serialised with a
lock file, so notebooks executed in parallel never lose each other's keys.
"""
import json
import math
import numbers
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from helpers import mode

VARIABLE = "COURSE_RESULTS"
LOCK_TIMEOUT = 30.0  # seconds to wait for another writer before giving up


def build_dir():
    """``build/`` at the repository root."""
    return Path(__file__).resolve().parent.parent / "build"


def default_path():
    """Where ``record`` writes: ``$COURSE_RESULTS``, else build/results[-quick].json."""
    env = os.environ.get(VARIABLE, "").strip()
    if env:
        return Path(env).expanduser()
    name = "results.json" if mode.is_full() else "results-quick.json"
    return build_dir() / name


def _to_json_scalar(key, value):
    """A JSON-safe Python scalar for ``value``, or a ValueError/TypeError naming ``key``."""
    if hasattr(value, "ndim") and getattr(value, "ndim") == 0 and hasattr(value, "item"):
        value = value.item()  # numpy scalar or 0-d array -> Python scalar
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"record({key!r}, ...): value is {value}; only finite numbers "
                             "can be recorded (did the training diverge?)")
        return value
    raise TypeError(f"record({key!r}, ...): value must be a float, int, str or bool "
                    f"(or a numpy scalar), got {type(value).__name__}")


@contextmanager
def _locked(path):
    """Hold an exclusive lock on ``path``.lock while reading and replacing ``path``."""
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            import fcntl
        except ImportError:  # Windows
            import msvcrt
            deadline = time.monotonic() + LOCK_TIMEOUT
            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{lock_path}: still locked after "
                                           f"{LOCK_TIMEOUT:.0f} s") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def load(path=None):
    """The recorded results as a dict (empty if the file does not exist yet)."""
    path = Path(path) if path is not None else default_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        results = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); delete it or fix it") from None
    if not isinstance(results, dict):
        raise ValueError(f"{path}: expected a JSON object of key -> value, "
                         f"got {type(results).__name__}")
    return results


def record(key, value, path=None):
    """Merge ``key: value`` into the results file and return the value as stored.

    ``value`` must be a finite float, an int, a str or a bool (numpy scalars are
    converted); NaN/inf raise ValueError, anything else TypeError. Other keys in the
    file are kept. ``path`` overrides ``default_path()`` (tests).
    """
    if not isinstance(key, str) or not key.strip():
        raise TypeError(f"record: key must be a non-empty str, got {key!r}")
    value = _to_json_scalar(key, value)
    path = Path(path) if path is not None else default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        results = load(path)
        results[key] = value
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(results, out, indent=2, sort_keys=True, allow_nan=False)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            umask = os.umask(0o022)  # the umask is read by setting it: put it back at once
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # what open() would give; mkstemp makes it 0600
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return value
