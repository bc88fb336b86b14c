"""helpers.data: the IDX reader on good and bad files, the real MNIST files, the splits.

The MNIST tests read the real files from $MNIST_DIR (else data/mnist/). In CI
(CI=true) a missing copy is a failure, not a skip.
"""
import gzip
import hashlib
import os
import struct
import tracemalloc
from collections import Counter

import numpy as np
import pytest

from helpers import data
from helpers.data import DatasetError


# --------------------------------------------------------------------------- fixtures

def _in_ci():
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def mnist_dir():
    root = data.resolve_dir()
    missing = [n for n in data.FILES.values() if data._find(root, n) is None]
    if missing:
        message = (f"MNIST files {missing} not found in {root} ($MNIST_DIR="
                   f"{os.environ.get('MNIST_DIR')!r}); export MNIST_DIR=/path/to/mnist")
        if _in_ci():
            pytest.fail("CI=true: " + message)
        pytest.skip(message)
    return root


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return data.load_mnist(mnist_dir, download=False)


def idx_bytes(array, code=None):
    """Encode ``array`` as IDX (big-endian) with the right or a given type code."""
    codes = {np.dtype(v).newbyteorder("=").str: k for k, v in data.IDX_DTYPES.items()}
    array = np.asarray(array)
    code = codes[array.dtype.newbyteorder("=").str] if code is None else code
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        struct.pack(">I", d) for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(tmp_path, name, payload, compress=False):
    path = tmp_path / name
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


# --------------------------------------------------------------------------- IDX reader

@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32,
                                   np.float32, np.float64])
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip_every_type(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = write(tmp_path, "a.idx", idx_bytes(array), compress)
    got = data.read_idx(path)
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    assert got.shape == (3, 4, 5)
    np.testing.assert_array_equal(got, array)
    got[0, 0, 0] = 1  # writable, not a view of a read-only buffer


def test_read_idx_big_endian_by_hand(tmp_path):
    # int16 258 is 0x0102 big-endian; -2 is 0xFFFE.
    raw = bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE])
    np.testing.assert_array_equal(data.read_idx(write(tmp_path, "x", raw)), [258, -2])


def test_read_idx_detects_gzip_by_magic_not_name(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    gz_without_suffix = write(tmp_path, "plain-name", idx_bytes(array), compress=True)
    raw_with_suffix = write(tmp_path, "looks.gz", idx_bytes(array))
    np.testing.assert_array_equal(data.read_idx(gz_without_suffix), array)
    np.testing.assert_array_equal(data.read_idx(raw_with_suffix), array)


GOOD = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
BAD_FILES = {
    "empty": b"",
    "truncated_header": b"\x00\x00\x08",
    "truncated_dims": bytes([0, 0, 8, 3, 0, 0, 0, 2]),
    "bad_magic": b"\x01\x02" + GOOD[2:],
    "unknown_type": GOOD[:2] + b"\x07" + GOOD[3:],
    "zero_ndim": bytes([0, 0, 8, 0]) + b"\x00" * 8,
    "zero_dim": bytes([0, 0, 8, 2, 0, 0, 0, 0, 0, 0, 0, 5]),
    "too_short": GOOD[:-1],
    "too_long": GOOD + b"\x00",
    "absurd_dims": bytes([0, 0, 8, 3]) + b"\xff\xff\xff\xff" * 3 + b"\x00" * 10,
}
MESSAGES = {
    "empty": "empty", "truncated_header": "truncated", "truncated_dims": "truncated",
    "bad_magic": "magic", "unknown_type": "type code", "zero_ndim": "0 dimensions",
    "zero_dim": "zero dimension", "too_short": "too short", "too_long": "too long",
    "absurd_dims": "too short",
}


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_idx_files_raise_dataset_error_naming_the_file(tmp_path, kind, compress):
    if kind == "empty" and compress:
        expected = "truncated"  # a valid gzip holding nothing: the header is missing
    else:
        expected = MESSAGES[kind]
    path = write(tmp_path, f"{kind}.idx", BAD_FILES[kind], compress)
    with pytest.raises(DatasetError) as info:
        data.read_idx(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("damage", ["garbage", "flipped", "truncated", "trailing"])
def test_corrupt_gzip_raises_dataset_error(tmp_path, damage):
    payload = idx_bytes(np.random.default_rng(0).integers(0, 255, 5000, dtype=np.uint8))
    gz = bytearray(gzip.compress(payload))
    if damage == "garbage":
        gz = b"\x1f\x8b" + b"not a deflate stream at all" * 10
    elif damage == "flipped":
        gz[len(gz) // 2] ^= 0xFF
    elif damage == "truncated":
        gz = gz[: len(gz) // 2]
    else:
        gz = bytes(gz) + b"junk after the gzip member"
    path = write(tmp_path, f"{damage}.gz", bytes(gz))
    with pytest.raises(DatasetError, match="corrupt|too short|too long|truncated") as info:
        data.read_idx(path)
    assert str(path) in str(info.value)


def test_absurd_header_gives_a_readable_message(tmp_path):
    path = write(tmp_path, "many-dims.idx", bytes([0, 0, 8, 200]) + b"\xff" * 800 + b"x")
    with pytest.raises(DatasetError, match=r"about 10\^1926 bytes, the file holds 1"):
        data.read_idx(path)


def test_directory_and_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="directory") as info:
        data.read_idx(tmp_path)
    assert str(tmp_path) in str(info.value)
    missing = tmp_path / "nope.idx"
    with pytest.raises(DatasetError, match="no such file") as info:
        data.read_idx(missing)
    assert str(missing) in str(info.value)


@pytest.mark.parametrize("compress", [False, True])
def test_lying_header_does_not_allocate_what_it_claims(tmp_path, compress):
    # Claims 10**6 x 10**6 uint8 = 10**12 bytes; holds 1,000.
    header = bytes([0, 0, 8, 2]) + struct.pack(">II", 10**6, 10**6)
    path = write(tmp_path, "liar.idx", header + bytes(1000), compress)
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="too short") as info:
            data.read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "1000000000000" in str(info.value)
    assert peak < 16 * 2**20, f"peak allocation {peak} bytes"


# --------------------------------------------------------------------------- real MNIST

def test_real_files_shapes_dtypes(mnist):
    X_train, y_train, X_test, y_test = mnist
    assert X_train.shape == (60000, 28, 28) and X_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert all(a.dtype == np.uint8 for a in mnist)
    assert set(np.unique(y_train)) == set(range(10)) == set(np.unique(y_test))
    # Facts about the original files: the first labels and the class counts.
    np.testing.assert_array_equal(y_train[:8], [5, 0, 4, 1, 9, 2, 1, 3])
    np.testing.assert_array_equal(y_test[:8], [7, 2, 1, 0, 4, 1, 4, 9])
    assert np.bincount(y_train)[1] == 6742 and np.bincount(y_test)[5] == 892


def test_real_files_checksums_match_constants(mnist_dir):
    sums = mnist_dir / "SHA256SUMS"
    for name, expected in data.SHA256.items():
        path = data._find(mnist_dir, name)
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        assert hashlib.sha256(raw).hexdigest() == expected, name
    if sums.is_file():  # the shared copy carries the published list
        listed = dict(line.split()[::-1] for line in sums.read_text().splitlines() if line)
        assert listed == data.SHA256


def test_cache_returns_read_only_arrays(mnist_dir, mnist):
    again = data.load_mnist(mnist_dir, download=False)
    assert all(a is b for a, b in zip(again, mnist))
    with pytest.raises(ValueError):
        again[0][0, 0, 0] = 1
    assert not any(a.flags.writeable for a in again)


def test_mnist_dir_variable_and_argument(mnist_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    assert data.resolve_dir() == mnist_dir.resolve()
    assert data.resolve_dir(tmp_path) == tmp_path.resolve()
    monkeypatch.delenv("MNIST_DIR")
    monkeypatch.chdir(tmp_path)  # the default never depends on the cwd
    assert data.resolve_dir() == data.default_dir()
    assert data.default_dir().parent.parent / "helpers" / "data.py" == \
        data.Path(data.__file__).resolve()


def _link_all(src, dst, skip=()):
    for name in data.FILES.values():
        if name not in skip:
            path = data._find(src, name)
            (dst / path.name).symlink_to(path)


def test_raw_files_are_accepted(mnist_dir, mnist, tmp_path):
    name = data.FILES["test_labels"]
    _link_all(mnist_dir, tmp_path, skip=[name])
    path = data._find(mnist_dir, name)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    (tmp_path / name).write_bytes(raw)
    loaded = data.load_mnist(tmp_path, download=False)
    np.testing.assert_array_equal(loaded[3], mnist[3])


def test_checksum_mismatch_names_the_file(mnist_dir, tmp_path):
    name = data.FILES["train_labels"]
    _link_all(mnist_dir, tmp_path, skip=[name])
    labels = data.read_idx(data._find(mnist_dir, name)).copy()
    labels[0] = (labels[0] + 1) % 10  # one wrong label: still a valid IDX file
    bad = write(tmp_path, f"{name}.gz", idx_bytes(labels), compress=True)
    with pytest.raises(DatasetError, match="SHA-256") as info:
        data.load_mnist(tmp_path, download=False)
    assert str(bad) in str(info.value)
    with pytest.raises(DatasetError, match="SHA-256"):
        data.verify(tmp_path)


def test_label_and_image_counts_must_agree(mnist_dir, tmp_path, monkeypatch):
    # Put the test labels under the training name and accept their hash: only the
    # count check can catch it.
    name = data.FILES["train_labels"]
    _link_all(mnist_dir, tmp_path, skip=[name])
    test_labels = data._find(mnist_dir, data.FILES["test_labels"])
    (tmp_path / f"{name}.gz").symlink_to(test_labels)
    hashes = dict(data.SHA256)
    hashes[name] = hashes[data.FILES["test_labels"]]
    monkeypatch.setattr(data, "SHA256", hashes)
    with pytest.raises(DatasetError, match="do not agree") as info:
        data.load_mnist(tmp_path, download=False)
    assert str(tmp_path) in str(info.value)


def test_missing_files_without_download_explain_how_to_fetch(tmp_path):
    with pytest.raises(DatasetError) as info:
        data.load_mnist(tmp_path, download=False)
    message = str(info.value)
    assert "python -m helpers.data fetch" in message and str(tmp_path) in message
    for name in data.FILES.values():
        assert name in message
    assert list(tmp_path.iterdir()) == []


def test_cli_verify(mnist_dir, tmp_path, capsys):
    assert data.main(["verify", str(mnist_dir)]) == 0
    assert "ok" in capsys.readouterr().out
    assert data.main(["verify", str(tmp_path)]) == 1
    assert "python -m helpers.data fetch" in capsys.readouterr().err


# --------------------------------------------------------------------------- splits

def test_two_digit_split_protocol(mnist):
    X_train, y_train, X_test, y_test = mnist
    split = data.two_digit_split(2, 8, mnist)
    # The protocol written out with plain loops, independently of the helper: count the
    # images OF THE TWO DIGITS, up to 20,000 training and 2,000 test images.
    kept = []
    for i in range(len(y_train)):
        if y_train[i] in (2, 8) and len(kept) < 20000:
            kept.append(i)
    n_hold = len(kept) // 10
    hold_idx, train_idx = kept[:n_hold], kept[n_hold:]
    test_idx = []
    for i in range(len(y_test)):
        if y_test[i] in (2, 8) and len(test_idx) < 2000:
            test_idx.append(i)
    # No pair has 20,000 training images: every 2 and 8 is used (5,958 + 5,851 in MNIST);
    # the test set is capped (1,032 + 974 = 2,006 exist).
    assert len(kept) == 5958 + 5851 and len(test_idx) == 2000
    assert split.X_train.shape == (len(train_idx), 784)
    assert split.X_hold.shape == (n_hold, 784)
    assert split.X_test.shape == (2000, 784)
    assert all(a.dtype == np.uint8 for a in (split.X_train, split.X_hold, split.X_test))
    assert all(a.dtype == np.int64 for a in (split.y_train, split.y_hold, split.y_test))
    # b (8) is the positive class.
    np.testing.assert_array_equal(split.y_train, y_train[train_idx] == 8)
    np.testing.assert_array_equal(split.y_hold, y_train[hold_idx] == 8)
    np.testing.assert_array_equal(split.y_test, y_test[test_idx] == 8)
    # first 10% is the hold-out, in file order
    np.testing.assert_array_equal(split.X_hold[0], X_train[kept[0]].ravel())
    np.testing.assert_array_equal(split.X_hold[-1], X_train[kept[n_hold - 1]].ravel())
    np.testing.assert_array_equal(split.X_train[0], X_train[kept[n_hold]].ravel())
    np.testing.assert_array_equal(split.X_train[-1], X_train[kept[-1]].ravel())
    np.testing.assert_array_equal(split.X_test, X_test[test_idx].reshape(-1, 784))
    assert set(hold_idx).isdisjoint(train_idx)
    # The split is a copy: changing it leaves the cached arrays alone.
    split.X_train[0, 0] = 255
    assert split.X_train.flags.writeable


def test_two_digit_split_caps_count_images_of_the_two_digits(mnist):
    # A made-up MNIST with 30,000 training 2s/3s and 3,000 test 2s/3s: the caps apply to
    # images of the two digits, not to positions in the file.
    rng = np.random.default_rng(0)
    y_tr = np.tile(np.array([2, 3, 7], np.uint8), 15000)          # 45,000 labels
    y_te = np.tile(np.array([3, 5, 2], np.uint8), 1500)           # 4,500 labels
    X_tr = rng.integers(0, 256, (len(y_tr), 28, 28), dtype=np.uint8)
    X_te = rng.integers(0, 256, (len(y_te), 28, 28), dtype=np.uint8)
    split = data.two_digit_split(2, 3, (X_tr, y_tr, X_te, y_te))
    assert len(split.y_hold) == 2000 and len(split.y_train) == 18000
    assert len(split.y_test) == 2000
    last_train = np.flatnonzero(y_tr != 7)[19999]                # the 20,000th 2-or-3
    np.testing.assert_array_equal(split.X_train[-1], X_tr[last_train].ravel())
    last_test = np.flatnonzero(y_te != 5)[1999]
    np.testing.assert_array_equal(split.X_test[-1], X_te[last_test].ravel())


def test_two_digit_split_label_mapping_and_arguments(mnist):
    forward, backward = data.two_digit_split(2, 3, mnist), data.two_digit_split(3, 2, mnist)
    np.testing.assert_array_equal(forward.X_train, backward.X_train)
    np.testing.assert_array_equal(forward.y_train, 1 - backward.y_train)
    for a, b in ((2, 2), (2, 10), (-1, 3), (2.0, 3)):
        with pytest.raises(ValueError):
            data.two_digit_split(a, b, mnist)


def test_softmax_split_first_and_last(mnist):
    X_train, y_train, X_test, y_test = mnist
    split = data.softmax_split(mnist)
    assert [len(a) for a in split] == [18000, 18000, 2000, 2000, 2000, 2000]
    np.testing.assert_array_equal(split.X_hold, X_train[:2000].reshape(-1, 784))
    np.testing.assert_array_equal(split.X_train, X_train[2000:20000].reshape(-1, 784))
    np.testing.assert_array_equal(split.y_train, y_train[2000:20000])
    np.testing.assert_array_equal(split.X_test, X_test[8000:].reshape(-1, 784))
    np.testing.assert_array_equal(split.y_test, y_test[8000:])
    assert split.y_train.dtype == np.int64


def test_full_split_is_seeded_and_a_partition(mnist):
    X_train, y_train, X_test, _ = mnist
    split = data.full_split(mnist)
    assert [len(a) for a in split] == [50000, 50000, 10000, 10000, 10000, 10000]
    again = data.full_split(mnist, seed=0)
    np.testing.assert_array_equal(split.X_hold, again.X_hold)
    other = data.full_split(mnist, seed=1)
    assert not np.array_equal(split.y_hold, other.y_hold)
    # train + hold-out is exactly the 60,000 training images (as a multiset of rows)
    rows = Counter(map(bytes, X_train.reshape(60000, -1)))
    assert Counter(map(bytes, np.vstack([split.X_train, split.X_hold]))) == rows
    np.testing.assert_array_equal(np.bincount(split.y_train) + np.bincount(split.y_hold),
                                  np.bincount(y_train))
    np.testing.assert_array_equal(split.X_test, X_test.reshape(-1, 784))
    small = data.full_split(mnist, n_hold=100)
    assert len(small.X_hold) == 100 and len(small.X_train) == 59900
    with pytest.raises(ValueError, match="n_hold"):
        data.full_split(mnist, n_hold=60000)


def test_digits_split_offline_and_seeded():
    split = data.digits_split()
    assert split.X_train.shape == (1347, 64) and split.X_test.shape == (450, 64)
    assert split.X_hold.shape == (0, 64) and split.y_hold.shape == (0,)
    assert split.X_train.dtype == np.float64 and split.y_train.dtype == np.int64
    assert split.X_train.min() == 0.0 and split.X_train.max() == 1.0
    again = data.digits_split(seed=0)
    np.testing.assert_array_equal(split.X_test, again.X_test)
    assert not np.array_equal(split.y_test, data.digits_split(seed=1).y_test)


# --------------------------------------------------------------------------- features

def test_scale_standardize_add_bias():
    X = np.array([[0, 255, 7], [255, 0, 7]], dtype=np.uint8)
    S = data.scale(X)
    assert S.dtype == np.float64
    np.testing.assert_array_equal(S, [[0, 1, 7 / 255], [1, 0, 7 / 255]])

    X_test = np.array([[127.5, 0.0, 9.0]])
    Z, Z_test, mean, std = data.standardize(X.astype(float), X_test)
    np.testing.assert_allclose(mean, [127.5, 127.5, 7.0])
    np.testing.assert_allclose(std, [127.5, 127.5, 0.0], atol=1e-7)
    np.testing.assert_allclose(Z, [[-1, 1, 0], [1, -1, 0]], atol=1e-7)
    assert np.all(np.isfinite(Z_test))  # constant feature: no division by zero
    np.testing.assert_allclose(Z_test[0, :2], [0, -1], atol=1e-7)  # training statistics
    with pytest.raises(ValueError, match="others"):
        data.standardize(X, np.zeros((1, 2)))

    B = data.add_bias(S)
    assert B.shape == (2, 4) and np.all(B[:, 0] == 1) and np.array_equal(B[:, 1:], S)
    assert data.add_bias(np.ones((3, 2), np.float32)).dtype == np.float32
    assert data.add_bias(X).dtype == np.float64
    with pytest.raises(ValueError, match="2-D"):
        data.add_bias(np.ones(3))


def test_subsample_takes_the_first_rows():
    split = data.Split(*(np.arange(n) for n in (10, 10, 6, 6, 8, 8)))
    small = data.subsample(split, 3, n_test=2)
    assert [list(a) for a in small] == [[0, 1, 2], [0, 1, 2], list(range(6)),
                                        list(range(6)), [0, 1], [0, 1]]
    assert isinstance(small, data.Split)
    with pytest.raises(ValueError, match="n_train"):
        data.subsample(split, -1)
