import functools
import gzip
import hashlib
import http.server
import threading

import pytest

from fakedata import write_fashion_mnist
from harness.cli import main
from harness.data import DataError, download, fashion_mnist, load_dataset


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server over a directory of generated files."""
    root = write_fashion_mnist(tmp_path / "served")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def _sums(root):
    return {b: hashlib.sha256(gzip.decompress((root / f"{b}.gz").read_bytes())).hexdigest()
            for b in fashion_mnist.FILES.values()}


def test_download_verifies_and_lands_where_the_loader_looks(server, tmp_path):
    root, url = server
    dest = download.get_fashion_mnist(url=url, sha256=_sums(root))
    assert dest == tmp_path / "cache" / "fashion-mnist"
    assert load_dataset("fashion-mnist").source == dest


def test_download_with_wrong_checksum_saves_nothing(server, tmp_path):
    root, url = server
    sums = _sums(root)
    sums["t10k-images-idx3-ubyte"] = "0" * 64
    with pytest.raises(DataError, match="does not match the official checksum"):
        download.get_fashion_mnist(tmp_path / "dest", url=url, sha256=sums)
    assert not (tmp_path / "dest" / "t10k-images-idx3-ubyte.gz").exists()


def test_offline_download_fails_at_once_naming_both_ways(tmp_path, capsys):
    assert main(["data", "get", "fashion-mnist", "--dest", str(tmp_path / "d"),
                 "--url", "http://127.0.0.1:9/"]) == 2
    err = capsys.readouterr().err
    assert "could not download" in err
    assert "apt-get install dataset-fashion-mnist" in err and "harness data get" in err
