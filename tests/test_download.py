"""helpers.data's download code, for real, against a local HTTP server on 127.0.0.1.

The server (a thread, port 0) serves gzip copies of the real MNIST files under
/good/, a valid gzip of altered bytes under /corrupt/ (checksum mismatch), a body cut
short after announcing the full Content-Length under /drop/, and 404 elsewhere.
$MNIST_MIRRORS points the loader at it.
"""
import gzip
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from helpers import data
from helpers.data import DatasetError

NAMES = list(data.FILES.values())


@pytest.fixture(scope="module")
def mnist_dir():
    root = data.resolve_dir()
    missing = [n for n in NAMES if data._find(root, n) is None]
    if missing:
        message = f"MNIST files {missing} not found in {root}; export MNIST_DIR"
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail("CI=true: " + message)
        pytest.skip(message)
    return root


@pytest.fixture(scope="module")
def payloads(mnist_dir):
    """name -> (good .gz bytes, corrupt .gz bytes); both decompress to valid IDX."""
    out = {}
    for name in NAMES:
        path = data._find(mnist_dir, name)
        raw = path.read_bytes()
        if raw[:2] != b"\x1f\x8b":
            raw = gzip.compress(raw, compresslevel=1)
        plain = bytearray(gzip.decompress(raw))
        plain[-1] ^= 0x01  # one pixel or label changed: well-formed, wrong checksum
        out[name] = (raw, gzip.compress(bytes(plain), compresslevel=1))
    return out


@pytest.fixture(scope="module")
def server(payloads):
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            mode, _, file = self.path.strip("/").partition("/")
            name = file[:-3] if file.endswith(".gz") else None
            if name not in payloads or mode not in ("good", "corrupt", "drop"):
                self.send_error(404)
                return
            good, corrupt = payloads[name]
            body = corrupt if mode == "corrupt" else good
            self.send_response(200)
            self.send_header("Content-Type", "application/gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if mode == "drop":
                # Announce everything, send half, hang up.
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield base, requests
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def closed_port():
    """A URL on 127.0.0.1 where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def use_mirrors(monkeypatch, *urls):
    monkeypatch.setenv("MNIST_MIRRORS", ",".join(urls))


def link_except(src, dst, skip):
    """Place the real files in ``dst`` except ``skip`` (so only those download)."""
    for name in NAMES:
        if name not in skip:
            path = data._find(src, name)
            (dst / path.name).symlink_to(path)


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_download_all_then_load(server, mnist_dir, tmp_path, monkeypatch):
    base, requests = server
    use_mirrors(monkeypatch, f"{base}/good/")
    target = tmp_path / "fresh"
    loaded = data.load_mnist(target, download=True)  # creates the folder, fetches four
    assert listing(target) == sorted(f"{n}.gz" for n in NAMES)  # no temp files
    # readable like any new file (the private temp file's 0600 is not kept)
    (tmp_path / "plain").touch()
    plain = (tmp_path / "plain").stat().st_mode & 0o777
    assert {(target / f"{n}.gz").stat().st_mode & 0o777 for n in NAMES} == {plain}
    reference = data.load_mnist(mnist_dir, download=False)
    for got, want in zip(loaded, reference):
        np.testing.assert_array_equal(got, want)
    assert {f"/good/{n}.gz" for n in NAMES} <= set(requests)


def test_corrupt_download_is_rejected_and_removed(server, mnist_dir, tmp_path, monkeypatch):
    base, _ = server
    name = data.FILES["test_labels"]
    link_except(mnist_dir, tmp_path, skip=[name])
    before = listing(tmp_path)
    use_mirrors(monkeypatch, f"{base}/corrupt/")
    with pytest.raises(DatasetError) as info:
        data.load_mnist(tmp_path)
    message = str(info.value)
    assert "SHA-256" in message and name in message
    assert "python -m helpers.data fetch" in message
    assert listing(tmp_path) == before  # nothing left behind


def test_dropped_connection_then_next_mirror(server, mnist_dir, tmp_path, monkeypatch):
    base, requests = server
    name = data.FILES["train_labels"]
    link_except(mnist_dir, tmp_path, skip=[name])
    before = listing(tmp_path)

    use_mirrors(monkeypatch, f"{base}/drop/")
    with pytest.raises(DatasetError, match=name):
        data.fetch(tmp_path)
    assert listing(tmp_path) == before

    start = len(requests)
    use_mirrors(monkeypatch, f"{base}/drop/", f"{base}/good/")
    data.fetch(tmp_path)
    assert requests[start:] == [f"/drop/{name}.gz", f"/good/{name}.gz"]
    assert listing(tmp_path) == sorted(before + [f"{name}.gz"])
    data.verify(tmp_path)


def test_first_mirror_down_second_good(server, closed_port, mnist_dir, tmp_path,
                                       monkeypatch):
    base, _ = server
    skip = [data.FILES["train_labels"], data.FILES["test_labels"]]
    link_except(mnist_dir, tmp_path, skip=skip)
    use_mirrors(monkeypatch, closed_port, f"{base}/missing/", f"{base}/good/")
    data.fetch(tmp_path)
    assert len(listing(tmp_path)) == 4
    data.verify(tmp_path)


def test_offline_fails_fast_and_lists_what_is_missing(closed_port, tmp_path, monkeypatch):
    use_mirrors(monkeypatch, closed_port, closed_port + "other/")
    start = time.monotonic()
    with pytest.raises(DatasetError) as info:
        data.load_mnist(tmp_path / "mnist")
    assert time.monotonic() - start < 3.0
    message = str(info.value)
    for name in NAMES:
        assert name in message
    assert "unreachable" in message and "python -m helpers.data fetch" in message
    assert listing(tmp_path / "mnist") == []


def test_malformed_mirror_is_a_dataset_error(tmp_path, monkeypatch):
    use_mirrors(monkeypatch, "not-a-url/")
    with pytest.raises(DatasetError, match="not a usable URL"):
        data.fetch(tmp_path)
    assert listing(tmp_path) == []


def test_unroutable_mirror_times_out_quickly(tmp_path, monkeypatch):
    # 10.255.255.1 is a private address nobody should answer on: connect fails at once
    # (no route), hits the timeout, or (behind an intercepting gateway) gets an error
    # page; whichever happens, the fetch ends in a DatasetError within a few seconds.
    use_mirrors(monkeypatch, "http://10.255.255.1:9/")
    start = time.monotonic()
    with pytest.raises(DatasetError, match="Mirrors tried"):
        data.fetch(tmp_path, timeout=1.0)
    assert time.monotonic() - start < 5.0  # one timeout, then the mirror is skipped
    assert listing(tmp_path) == []


def test_interrupted_download_leaves_nothing(server, mnist_dir, tmp_path, monkeypatch):
    base, _ = server
    name = data.FILES["test_labels"]
    link_except(mnist_dir, tmp_path, skip=[name])
    before = listing(tmp_path)
    use_mirrors(monkeypatch, f"{base}/good/")

    def interrupt(path, name):
        assert path.name.endswith(".part") and path.stat().st_size > 0
        raise KeyboardInterrupt

    monkeypatch.setattr(data, "_verify_file", interrupt)
    with pytest.raises(KeyboardInterrupt):
        data.fetch(tmp_path)
    assert listing(tmp_path) == before


def test_cli_fetch(server, closed_port, mnist_dir, tmp_path, monkeypatch, capsys):
    base, _ = server
    link_except(mnist_dir, tmp_path, skip=[data.FILES["test_labels"]])
    use_mirrors(monkeypatch, closed_port)
    assert data.main(["fetch", str(tmp_path)]) == 1
    assert "error:" in capsys.readouterr().err
    use_mirrors(monkeypatch, f"{base}/good/")
    assert data.main(["fetch", str(tmp_path)]) == 0
    assert capsys.readouterr().out.count("ok") == 4


def test_unwritable_folder_is_a_dataset_error(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(data.tempfile, "mkstemp", refuse)
    with pytest.raises(DatasetError, match="cannot write") as info:
        data.fetch(tmp_path)
    assert str(tmp_path) in str(info.value)
