"""MNIST and the 8x8 digits: an IDX reader, a checked loader, and the course's splits.

Loading and normalisation are separate steps: ``load_mnist`` returns the raw uint8
pixels; ``scale``, ``standardize`` and ``add_bias`` prepare them for a model; the
``*_split`` functions cut the protocols the notebooks use (see docs/interfaces.md).

Where MNIST is looked for: the ``data_dir`` argument, else ``$MNIST_DIR``, else
``data/mnist/`` beside the ``helpers`` package (never the current directory).
Files may be gzip-compressed (``train-images-idx3-ubyte.gz``) or raw
(``train-images-idx3-ubyte``); the SHA-256 of the *decompressed* bytes must match
``SHA256``. Missing files are downloaded from ``MIRRORS`` (or ``$MNIST_MIRRORS``,
comma-separated) when ``download=True``; from a shell::

    python -m helpers.data fetch [DIR]     # download what is missing, verify
    python -m helpers.data verify [DIR]    # check what is there
"""
import argparse
import functools
import gzip
import hashlib
import http.client
import os
import socket
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

# The four files (name without .gz) and the SHA-256 of their decompressed bytes.
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# Tried in order; each serves <name>.gz. Overridden by $MNIST_MIRRORS (comma-separated).
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
MIRRORS_VARIABLE = "MNIST_MIRRORS"
DIR_VARIABLE = "MNIST_DIR"
# Sizes of the two-digit protocol (notebooks 02, 03), counted among images of the two digits.
TWO_DIGIT_TRAIN = 20000
TWO_DIGIT_TEST = 2000
# Seconds to wait for a connection or for the next chunk of a download; offline the
# loader must fail within a few of these, never hang.
TIMEOUT = 10.0
N_TRAIN, N_TEST, SIDE = 60000, 10000, 28

# IDX type codes -> big-endian dtypes (the format stores everything big-endian).
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


class DatasetError(ValueError):
    """A data file is missing, malformed or fails its checksum; the message names it."""


# --------------------------------------------------------------------------- IDX files

def _size_text(n):
    """``n`` bytes in digits, or as a power of ten when a lying header makes it absurd."""
    return str(n) if n < 10**18 else f"about 10^{len(str(n)) - 1}"


def _read_exact(stream, n, path, what):
    """Read exactly ``n`` bytes (n small: a header) or raise DatasetError."""
    data = stream.read(n)
    if len(data) != n:
        raise DatasetError(f"{path}: truncated {what} ({len(data)} of {n} bytes)")
    return data


def _parse_header(stream, path):
    """Read and check the IDX header. Returns (header bytes, dtype, shape, payload bytes)."""
    magic = _read_exact(stream, 4, path, "header")
    if magic[0] != 0 or magic[1] != 0:
        raise DatasetError(
            f"{path}: not an IDX file (magic number {magic.hex()} should start with 0000)")
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DatasetError(f"{path}: unknown IDX type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise DatasetError(f"{path}: IDX header declares 0 dimensions")
    dims_bytes = _read_exact(stream, 4 * ndim, path, f"header ({ndim} dimensions)")
    shape = tuple(int.from_bytes(dims_bytes[4 * i:4 * i + 4], "big") for i in range(ndim))
    if any(d == 0 for d in shape):
        raise DatasetError(f"{path}: IDX header declares a zero dimension {shape}")
    dtype = IDX_DTYPES[code]
    n_bytes = dtype.itemsize
    for d in shape:  # Python ints: no overflow however absurd the header is
        n_bytes *= d
    return magic + dims_bytes, dtype, shape, n_bytes


def _read_payload_capped(stream, n_bytes, path):
    """Read the payload of a stream of unknown length: at most ``n_bytes`` + 1 bytes.

    Reads in chunks so a header that lies about the size never makes us allocate what
    it claims; the buffer only ever grows to what the file really holds.
    """
    buf = bytearray()
    while len(buf) < n_bytes:
        chunk = stream.read(min(_CHUNK, n_bytes - len(buf)))
        if not chunk:
            raise DatasetError(
                f"{path}: payload too short: header declares {_size_text(n_bytes)} "
                f"bytes, the file holds {len(buf)}")
        buf += chunk
    if stream.read(1):  # also makes gzip check its CRC and length trailer
        raise DatasetError(
            f"{path}: payload too long: the file holds more than the {n_bytes} bytes "
            "its header declares")
    return buf


def _read_idx_parts(path):
    """Validate an IDX file (gzip or raw). Returns (header bytes, dtype, shape, payload).

    The payload is a ``bytearray`` of exactly the declared size.
    """
    path = Path(path)
    if path.is_dir():
        raise DatasetError(f"{path}: is a directory, not an IDX file")
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot open ({exc.strerror or exc})") from None
    with raw:
        try:
            is_gzip = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            if is_gzip:
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    header, dtype, shape, n_bytes = _parse_header(stream, path)
                    payload = _read_payload_capped(stream, n_bytes, path)
            else:
                size = os.fstat(raw.fileno()).st_size
                if size == 0:
                    raise DatasetError(f"{path}: empty file")
                header, dtype, shape, n_bytes = _parse_header(raw, path)
                # The real size is known: compare before reading anything big.
                actual = size - len(header)
                if actual != n_bytes:
                    kind = "short" if actual < n_bytes else "long"
                    raise DatasetError(
                        f"{path}: payload too {kind}: header declares "
                        f"{_size_text(n_bytes)} bytes, the file holds {actual}")
                payload = bytearray(n_bytes)
                if raw.readinto(payload) != n_bytes:
                    raise DatasetError(f"{path}: file changed while being read")
        except DatasetError:
            raise
        except (OSError, EOFError, zlib.error) as exc:
            # gzip.BadGzipFile is an OSError; EOFError is a gzip stream cut short.
            raise DatasetError(f"{path}: corrupt or unreadable ({exc})") from None
    return header, dtype, shape, payload


def read_idx(path):
    """Read an IDX file, gzip-compressed or raw (detected by its magic bytes).

    Returns a writable NumPy array in native byte order with the shape and type the
    header declares (e.g. uint8 (N, 28, 28) for MNIST images, uint8 (N,) for labels).
    Any malformed, truncated, oversized, missing or unreadable file raises
    ``DatasetError`` naming the file and the problem.
    """
    _, dtype, shape, payload = _read_idx_parts(path)
    array = np.frombuffer(payload, dtype=dtype).reshape(shape)
    # A view of the bytearray (writable) for bytes; a converted copy for wider types.
    return array.astype(dtype.newbyteorder("="), copy=False)


def _idx_with_sha(path):
    """Read an IDX file; also return the SHA-256 of its decompressed bytes."""
    header, dtype, shape, payload = _read_idx_parts(path)
    digest = hashlib.sha256(header)
    digest.update(payload)
    array = np.frombuffer(payload, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False), digest.hexdigest()


# --------------------------------------------------------------------------- locating

def default_dir():
    """``data/mnist/`` at the repository root, found from this package's location."""
    return Path(__file__).resolve().parent.parent / "data" / "mnist"


def resolve_dir(data_dir=None):
    """The MNIST folder: ``data_dir``, else ``$MNIST_DIR``, else ``default_dir()``."""
    if data_dir is not None:
        return Path(data_dir).expanduser().resolve()
    env = os.environ.get(DIR_VARIABLE, "").strip()
    if env:
        return Path(env).expanduser().resolve()
    return default_dir()


def _find(root, name):
    """The path of ``name`` in ``root`` (``name.gz`` preferred, then raw) or None."""
    for candidate in (root / f"{name}.gz", root / name):
        if candidate.is_file():
            return candidate
    return None


def mirrors():
    """The mirror base URLs to try, in order (``$MNIST_MIRRORS`` if set)."""
    env = os.environ.get(MIRRORS_VARIABLE, "").strip()
    if env:
        return tuple(m.strip() for m in env.split(",") if m.strip())
    return MIRRORS


def _how_to_fetch(root, names):
    listing = ", ".join(f"{n}.gz" for n in names)
    return (f"missing MNIST files in {root}: {listing}. Fetch them with "
            f"`python -m helpers.data fetch {root}`, or place the four files (gzip or "
            f"raw) there yourself, or point ${DIR_VARIABLE} at a folder that has them "
            "(see data/README.md)")


# --------------------------------------------------------------------------- download

def _verify_file(path, name):
    """Check ``path`` decompresses to the canonical bytes of ``name``; return the array."""
    array, digest = _idx_with_sha(path)
    if digest != SHA256[name]:
        raise DatasetError(
            f"{path}: SHA-256 of the decompressed bytes is {digest}, expected "
            f"{SHA256[name]} for {name} (corrupt or not the original file)")
    return array


def _download_to(url, destination, timeout, desc):
    """Stream ``url`` into the open binary file ``destination``. Raises OSError-likes."""
    from tqdm.auto import tqdm  # only needed when downloading

    with urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        received = 0
        with tqdm(total=expected, unit="B", unit_scale=True, desc=desc,
                  leave=False) as bar:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                destination.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    # http.client returns a short body without complaint when the peer closes early.
    if expected is not None and received != expected:
        raise http.client.IncompleteRead(b"", expected - received)
    if received == 0:
        raise http.client.IncompleteRead(b"", expected or 0)


def _fetch_one(root, name, urls, timeout, dead):
    """Download ``name.gz`` from the first mirror that gives verified bytes.

    Writes to a temporary file in ``root``, checks the SHA-256 of the decompressed
    bytes, then renames atomically; the temporary file never survives (failure,
    corruption or Ctrl-C). Mirrors that could not be reached are added to ``dead`` and
    skipped for the remaining files, so an offline fetch fails within a few timeouts.
    Returns a list of "url: reason" strings for the mirrors that failed.
    """
    failures = []
    target = root / f"{name}.gz"
    for base in urls:
        url = base.rstrip("/") + f"/{name}.gz"
        if base in dead:
            failures.append(f"{url}: skipped (mirror unreachable)")
            continue
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=root)
        except OSError as exc:
            raise DatasetError(f"{root}: cannot write the download there ({exc}); "
                               f"choose another folder with ${DIR_VARIABLE}") from None
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                _download_to(url, out, timeout, desc=name)
            _verify_file(tmp, name)
            umask = os.umask(0o022)  # the umask is read by setting it: put it back at once
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # what open() would give; mkstemp makes it 0600
            os.replace(tmp, target)
            return []
        except DatasetError as exc:
            failures.append(f"{url}: {exc}")
        except urllib.error.HTTPError as exc:
            failures.append(f"{url}: HTTP {exc.code} {exc.reason}")
        except (urllib.error.URLError, socket.timeout, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            failures.append(f"{url}: unreachable ({reason})")
            dead.add(base)
        except ValueError as exc:  # urllib: "unknown url type" and the like
            failures.append(f"{url}: not a usable URL ({exc})")
            dead.add(base)
        except (http.client.HTTPException, OSError) as exc:
            failures.append(f"{url}: download failed ({type(exc).__name__}: {exc})")
        finally:
            tmp.unlink(missing_ok=True)
    return failures


def fetch(data_dir=None, timeout=TIMEOUT):
    """Download the MNIST files missing from the folder, verify all four.

    Returns the folder (a ``Path``). Raises ``DatasetError`` listing what is still
    missing and why each mirror failed. Files already present are checked, not
    downloaded again.
    """
    root = resolve_dir(data_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"{root}: cannot create the MNIST folder ({exc})") from None
    urls = mirrors()
    if not urls:
        raise DatasetError(f"${MIRRORS_VARIABLE} is set but names no mirror")
    dead = set()
    problems = {}
    for name in FILES.values():
        if _find(root, name) is None:
            failures = _fetch_one(root, name, urls, timeout, dead)
            if failures:
                problems[name] = failures
    if problems:
        details = "\n".join(f"  {name}:\n    " + "\n    ".join(reasons)
                            for name, reasons in problems.items())
        raise DatasetError(_how_to_fetch(root, list(problems)) + "\nMirrors tried:\n" + details)
    verify(root)
    return root


# --------------------------------------------------------------------------- loading

def _load_verified(root):
    """Read and check the four files in ``root``; all present. Returns 4 arrays."""
    arrays = {}
    for key, name in FILES.items():
        arrays[key] = _verify_file(_find(root, name), name)
    for split, n in (("train", N_TRAIN), ("test", N_TEST)):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.shape != (n, SIDE, SIDE) or labels.shape != (n,):
            raise DatasetError(
                f"{root}: {split} images {images.shape} and labels {labels.shape} do not "
                f"agree with ({n}, {SIDE}, {SIDE}) and ({n},)")
    return (arrays["train_images"], arrays["train_labels"],
            arrays["test_images"], arrays["test_labels"])


def verify(data_dir=None):
    """Check that all four files are present with the canonical checksums and counts.

    Returns the folder; raises ``DatasetError`` otherwise. Does not download.
    """
    root = resolve_dir(data_dir)
    missing = [name for name in FILES.values() if _find(root, name) is None]
    if missing:
        raise DatasetError(_how_to_fetch(root, missing))
    _load_verified(root)
    return root


@functools.lru_cache(maxsize=2)
def _load_cached(root, signature):
    """Arrays for ``root`` keyed also by the files' (path, size, mtime) ``signature``."""
    arrays = _load_verified(Path(root))
    for a in arrays:
        a.flags.writeable = False
    return arrays


def load_mnist(data_dir=None, download=True):
    """Load MNIST: ``(X_train, y_train, X_test, y_test)``.

    X_train uint8 (60000, 28, 28), y_train uint8 (60000,), X_test uint8 (10000, 28, 28),
    y_test uint8 (10000,). Folder: ``data_dir``, else ``$MNIST_DIR``, else
    ``data/mnist/`` in the repository. Missing files are downloaded when ``download``.

    The arrays are cached in-process (per folder and file state), so calling this again
    is free; they are returned **read-only** so no caller can corrupt the cache: use
    ``X.copy()`` or a protocol helper (which copies) before changing anything.
    """
    root = resolve_dir(data_dir)
    missing = [name for name in FILES.values() if _find(root, name) is None]
    if missing:
        if not download:
            raise DatasetError(_how_to_fetch(root, missing) + " (download=False)")
        fetch(root)
    signature = []
    for name in FILES.values():
        path = _find(root, name)
        stat = path.stat()
        signature.append((str(path), stat.st_size, stat.st_mtime_ns))
    return _load_cached(str(root), tuple(signature))


# --------------------------------------------------------------------------- protocols

class Split(NamedTuple):
    """One experiment's data. Images flattened to (N, D); labels int64 (N,)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_hold: np.ndarray
    y_hold: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def _flat(images):
    """(N, 28, 28) -> (N, 784), a fresh writable copy."""
    return np.array(images, copy=True).reshape(len(images), -1)


def _mnist(mnist):
    if mnist is None:
        return load_mnist()
    if not (isinstance(mnist, tuple) and len(mnist) == 4):
        raise TypeError("mnist must be the 4-tuple returned by load_mnist() or None")
    return mnist


def two_digit_split(a, b, mnist=None):
    """MNIST a-vs-b (notebooks 02, 03): labels 0/1 with **b the positive class**.

    The reference protocol: the training images of digits a and b in file order, at most
    the first 20,000 of them (no pair has that many, so all of them: about 12,000), the
    first 10% of those the hold-out and the rest training; the test set is the first
    2,000 test images of digits a and b. X uint8 (N, 784); y int64 (N,), y = (label == b).
    """
    for name, digit in (("a", a), ("b", b)):
        if not isinstance(digit, (int, np.integer)) or not 0 <= digit <= 9:
            raise ValueError(f"{name} must be a digit 0..9, got {digit!r}")
    if a == b:
        raise ValueError(f"a and b must differ, both are {a}")
    X_train, y_train, X_test, y_test = _mnist(mnist)
    keep = np.flatnonzero((y_train == a) | (y_train == b))[:TWO_DIGIT_TRAIN]
    X, y = _flat(X_train[keep]), (y_train[keep] == b).astype(np.int64)
    n_hold = len(y) // 10
    keep_t = np.flatnonzero((y_test == a) | (y_test == b))[:TWO_DIGIT_TEST]
    return Split(X[n_hold:], y[n_hold:], X[:n_hold], y[:n_hold],
                 _flat(X_test[keep_t]), (y_test[keep_t] == b).astype(np.int64))


def softmax_split(mnist=None):
    """MNIST 10 classes (notebook 04): the first 20,000 training images, of which the
    first 2,000 are the hold-out and 18,000 the training set; the **last** 2,000 test
    images. X uint8 (N, 784), y int64 (N,)."""
    X_train, y_train, X_test, y_test = _mnist(mnist)
    X, y = _flat(X_train[:20000]), y_train[:20000].astype(np.int64)
    return Split(X[2000:], y[2000:], X[:2000], y[:2000],
                 _flat(X_test[-2000:]), y_test[-2000:].astype(np.int64))


def full_split(mnist=None, n_hold=10000, seed=0):
    """All of MNIST: a seeded random hold-out of ``n_hold`` training images (kept in file
    order), the rest training; the 10,000 test images. X uint8 (N, 784), y int64."""
    if not isinstance(n_hold, (int, np.integer)) or not 0 <= n_hold < N_TRAIN:
        raise ValueError(f"n_hold must be an int in [0, {N_TRAIN}), got {n_hold!r}")
    X_train, y_train, X_test, y_test = _mnist(mnist)
    order = np.random.default_rng(seed).permutation(len(y_train))
    hold, train = np.sort(order[:n_hold]), np.sort(order[n_hold:])
    y_all = y_train.astype(np.int64)
    return Split(_flat(X_train[train]), y_all[train], _flat(X_train[hold]), y_all[hold],
                 _flat(X_test), y_test.astype(np.int64))


def digits_split(seed=0):
    """scikit-learn's 8x8 digits (bundled, works offline), images/16 in [0, 1].

    25% test with a fixed seed (``train_test_split(random_state=seed)``). X float64
    (N, 64), y int64 (N,); ``X_hold`` (0, 64) and ``y_hold`` (0,) are empty.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = (digits.images / 16.0).reshape(len(digits.images), -1)
    y = digits.target.astype(np.int64)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed)
    return Split(X_tr, y_tr, np.empty((0, X.shape[1])), np.empty(0, dtype=np.int64),
                 X_te, y_te)


# --------------------------------------------------------------------------- features

def scale(X):
    """Pixels to [0, 1]: float64 (N, D) = X / 255. A new array; X is untouched."""
    return np.asarray(X, dtype=np.float64) / 255.0


def standardize(X_train, *others, eps=1e-8):
    """Zero mean, unit variance per feature, with the *training* statistics.

    Returns ``(X_train_std, *others_std, mean, std)`` where mean (D,) and std (D,) are
    what was used: ``(X - mean) / std`` with std = train std + ``eps``, so constant
    features (std 0, e.g. MNIST's border pixels) become 0 instead of dividing by zero.
    All float64; inputs untouched.
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    if X_train.ndim != 2:
        raise ValueError(f"X_train must be 2-D (N, D), got shape {X_train.shape}")
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0) + eps
    out = [(X_train - mean) / std]
    for i, X in enumerate(others):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != X_train.shape[1]:
            raise ValueError(
                f"others[{i}] must be 2-D with {X_train.shape[1]} columns, got {X.shape}")
        out.append((X - mean) / std)
    return (*out, mean, std)


def add_bias(X):
    """Prepend a column of ones: (N, D) -> (N, D+1), x0 = 1. Float inputs keep their
    dtype, others become float64. A new array."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (N, D), got shape {X.shape}")
    dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
    out = np.empty((X.shape[0], X.shape[1] + 1), dtype=dtype)
    out[:, 0] = 1
    out[:, 1:] = X
    return out


def subsample(split, n_train, n_hold=None, n_test=None):
    """The first ``n`` rows of each part of a ``Split`` (quick mode). ``None`` keeps
    all of that part; asking for more than there is keeps all too."""
    for name, n in (("n_train", n_train), ("n_hold", n_hold), ("n_test", n_test)):
        if n is not None and (not isinstance(n, (int, np.integer)) or n < 0):
            raise ValueError(f"{name} must be a non-negative int or None, got {n!r}")

    def head(a, n):
        return a if n is None else a[:n]

    return Split(head(split.X_train, n_train), head(split.y_train, n_train),
                 head(split.X_hold, n_hold), head(split.y_hold, n_hold),
                 head(split.X_test, n_test), head(split.y_test, n_test))


# --------------------------------------------------------------------------- CLI

def main(argv=None):
    """``python -m helpers.data fetch|verify [DIR]``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.data", description="Fetch or verify the MNIST files.")
    parser.add_argument("command", choices=("fetch", "verify"))
    parser.add_argument("dir", nargs="?", default=None,
                        help=f"target folder (default: ${DIR_VARIABLE}, else data/mnist/)")
    args = parser.parse_args(argv)
    try:
        root = fetch(args.dir) if args.command == "fetch" else verify(args.dir)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name in FILES.values():
        print(f"ok  {_find(root, name)}  sha256 {SHA256[name][:16]}...")
    return 0


if __name__ == "__main__":
    sys.exit(main())
