import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fakedata import write_fashion_mnist  # noqa: E402

REAL_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
collect_ignore_glob = ["fixtures/*"]  # submissions under test, with their own test files


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """No test reads the user's cache or data directories, or sees the Debian copy by accident;
    each has a temp directory of its own (its processes' too, through TMPDIR), so that what
    other runs leave in the machine's temp directory is never taken for its own."""
    temp = tmp_path / "_tmpdir"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    # A fixed grading key (harness.data.permute), so that every run of a test grades on the
    # same secret view: verdicts must not depend on which view a run happened to draw.
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "grading.key").write_bytes(bytes(range(32)))
    monkeypatch.delenv("HARNESS_DATA", raising=False)
    monkeypatch.setattr("harness.data.locate.DEBIAN_FASHION_MNIST", tmp_path / "no-debian")


@pytest.fixture
def fmnist_dir(tmp_path) -> Path:
    return write_fashion_mnist(tmp_path / "fmnist")


def real_fashion_mnist() -> Path:
    if not all((REAL_FASHION_MNIST / f"{n}.gz").is_file() for n in (
            "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")):
        pytest.skip(f"the real Fashion-MNIST is not in {REAL_FASHION_MNIST} "
                    "(apt-get install dataset-fashion-mnist)")
    return REAL_FASHION_MNIST


@pytest.fixture(scope="session")
def grading_data(tmp_path_factory) -> Path:
    """A generated Fashion-MNIST big enough for grading to mean something, made once."""
    return write_fashion_mnist(tmp_path_factory.mktemp("grading-data"), n_train=2000,
                               n_test=300)


@pytest.fixture(scope="session")
def data_dir(grading_data):
    return grading_data


@pytest.fixture(scope="session")
def out_root(tmp_path_factory):
    return tmp_path_factory.mktemp("grades")
