"""Tests for tinygrad_lab.data: real files, a real HTTP server on 127.0.0.1, real batches."""
import functools
import gzip
import hashlib
import http.server
import json
import math
import socket
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lab as tl
from tinygrad_lab import data
from tinygrad_lab.data import (ChecksumError, DataError, DataLoader, Dataset,
                               DatasetUnavailableError)
from tinygrad_lab.tensor import Tensor

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
needs_debian_fashion = pytest.mark.skipif(
    not (FASHION_DIR / "train-labels-idx1-ubyte.gz").exists(),
    reason="Debian package dataset-fashion-mnist is not installed")


@pytest.fixture(autouse=True)
def offline_and_private_cache(tmp_path, monkeypatch):
    """No test may reach the internet or the user's real cache."""
    monkeypatch.setenv(data.CACHE_ENV_VAR, str(tmp_path / "cache"))
    monkeypatch.setattr(data, "MNIST_MIRRORS", ())
    monkeypatch.setattr(data, "FASHION_MNIST_MIRRORS", ())


# --------------------------------------------------------------------------------------
# helpers: write IDX files by hand, straight from the format description
# --------------------------------------------------------------------------------------
IDX_TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int16): 0x0B, np.dtype(np.float32): 0x0D}


def idx_bytes(array: np.ndarray) -> bytes:
    code = IDX_TYPE_CODES[array.dtype]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    raw = idx_bytes(array)
    path.write_bytes(gzip.compress(raw, mtime=0) if path.suffix == ".gz" else raw)
    return path


def tiny_mnist(directory: Path, compress=True, seed=0):
    """A valid 6-train / 4-test MNIST-shaped IDX set; returns the arrays written."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.array([5, 0, 4, 1, 9, 2], dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.array([7, 2, 1, 0], dtype=np.uint8),
    }
    suffix = ".gz" if compress else ""
    for name, array in arrays.items():
        write_idx(directory / (name + suffix), array)
    return arrays


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_in(directory: Path):
    return sorted(p.name for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


# --------------------------------------------------------------------------------------
# Dataset and digits
# --------------------------------------------------------------------------------------
def test_load_digits_shapes_dtypes_and_range():
    digits = data.load_digits()
    assert len(digits) == 1797
    assert digits.X.shape == (1797, 64) and digits.X.dtype == np.float32
    assert digits.y.shape == (1797,) and digits.y.dtype == np.int64
    assert digits.X.min() == 0.0 and digits.X.max() == 1.0  # raw pixels 0..16, divided by 16
    assert set(np.unique(digits.y)) == set(range(10))
    assert digits.classes == [str(d) for d in range(10)]
    assert digits.image_shape == (8, 8) and digits.name == "digits"
    # every value is a multiple of 1/16: scaled, not normalised
    assert np.allclose(digits.X * 16, np.round(digits.X * 16))


def test_dataset_converts_dtypes_and_rejects_bad_labels():
    ds = Dataset(np.ones((3, 4), dtype=np.float64), np.array([0, 1, 1], dtype=np.int32),
                 ["a", "b"], image_shape=(2, 2))
    assert ds.X.dtype == np.float32 and ds.y.dtype == np.int64 and ds.num_classes == 2
    with pytest.raises(DataError, match="integer class indices"):
        Dataset(np.ones((2, 4)), np.array([0.0, 1.0]), ["a", "b"])
    with pytest.raises(DataError, match="labels span 0..2"):
        Dataset(np.ones((2, 4)), np.array([0, 2]), ["a", "b"])
    with pytest.raises(DataError, match="image_shape"):
        Dataset(np.ones((2, 4)), np.array([0, 1]), ["a", "b"], image_shape=(3, 3))
    with pytest.raises(DataError, match="shape"):
        Dataset(np.ones((3, 4)), np.array([0, 1]), ["a", "b"])


# --------------------------------------------------------------------------------------
# IDX reader on the real Fashion-MNIST files (Debian package)
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fashion_labels():
    return (data.read_idx(FASHION_DIR / "train-labels-idx1-ubyte.gz"),
            data.read_idx(FASHION_DIR / "t10k-labels-idx1-ubyte.gz"))


@needs_debian_fashion
def test_read_idx_real_fashion_labels(fashion_labels):
    train, test = fashion_labels
    assert train.shape == (60000,) and test.shape == (10000,)
    assert train.dtype == np.uint8
    assert train.min() == 0 and train.max() == 9 and test.max() == 9
    # Fashion-MNIST is balanced: exactly 6000 / 1000 of each class
    assert np.array_equal(np.bincount(train), [6000] * 10)
    assert np.array_equal(np.bincount(test), [1000] * 10)
    # The first labels of the files (ankle boot, T-shirt, T-shirt, dress, ...)
    assert train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert test[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]


@needs_debian_fashion
def test_load_fashion_mnist_finds_debian_files(fashion_labels):
    train, test = data.load_fashion_mnist(download=False)
    assert train.X.shape == (60000, 784) and test.X.shape == (10000, 784)
    assert train.X.dtype == np.float32 and train.y.dtype == np.int64
    assert 0.0 <= train.X.min() and train.X.max() == 1.0
    assert train.image_shape == (28, 28) and train.classes[9] == "Ankle boot"
    assert np.array_equal(train.y, fashion_labels[0]) and np.array_equal(test.y, fashion_labels[1])
    # the images file read on its own gives the same pixels (here: the first test image)
    images = data.read_idx(FASHION_DIR / "t10k-images-idx3-ubyte.gz")
    assert images.shape == (10000, 28, 28)
    assert np.array_equal(test.X[0], images[0].reshape(-1) / np.float32(255))


# --------------------------------------------------------------------------------------
# IDX reader: valid and broken files
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
def test_read_idx_round_trip(tmp_path, suffix, dtype):
    values = np.arange(24).reshape(2, 3, 4)
    array = (values if dtype == np.uint8 else values - 5).astype(dtype)  # signed: negatives too
    out = data.read_idx(write_idx(tmp_path / f"a.idx{suffix}", array))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    assert np.array_equal(out, array)
    out[0, 0, 0] = 1  # writable, not a read-only view of the file's bytes


def test_truncated_file_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(np.zeros((3, 28, 28), np.uint8))[:-100])
    with pytest.raises(DataError, match="truncated") as info:
        data.read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_is_a_data_error(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8)))[:-30])
    with pytest.raises(DataError, match="corrupt gzip") as info:
        data.read_idx(path)
    assert str(path) in str(info.value)


def test_corrupt_gzip_body_is_a_data_error(tmp_path):
    raw = bytearray(gzip.compress(idx_bytes(np.arange(5000, dtype=np.uint8).reshape(50, 100) % 7)))
    raw[len(raw) // 2] ^= 0xFF
    path = tmp_path / "flipped.gz"
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=str(path)):
        data.read_idx(path)


def test_extra_bytes_are_rejected(tmp_path):
    path = tmp_path / "long"
    path.write_bytes(idx_bytes(np.arange(10, dtype=np.uint8)) + b"\x00\x00")
    with pytest.raises(DataError, match="2 unexpected bytes"):
        data.read_idx(path)


def test_wrong_magic_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"  # a PNG saved under an IDX name
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(DataError, match="not an IDX file: magic number 0x89504e47") as info:
        data.read_idx(path)
    assert str(path) in str(info.value)


def test_text_named_gz_is_not_gzip(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"  # e.g. an HTML error page saved by hand
    path.write_text("<html><body>404 Not Found</body></html>")
    with pytest.raises(DataError, match="not gzip-compressed") as info:
        data.read_idx(path)
    assert str(path) in str(info.value)


def test_gzip_content_is_detected_without_gz_name(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(gzip.compress(idx_bytes(np.array([3, 1, 4], np.uint8))))
    assert data.read_idx(path).tolist() == [3, 1, 4]


# --------------------------------------------------------------------------------------
# Finding files locally
# --------------------------------------------------------------------------------------
def test_load_mnist_from_root_with_plain_files(tmp_path):
    arrays = tiny_mnist(tmp_path / "mine", compress=False)
    train, test = data.load_mnist(root=tmp_path / "mine", download=False, flatten=False)
    assert train.X.shape == (6, 28, 28) and test.X.shape == (4, 28, 28)
    assert np.array_equal(train.X, arrays["train-images-idx3-ubyte"] / np.float32(255))
    assert train.y.tolist() == [5, 0, 4, 1, 9, 2] and test.y.dtype == np.int64
    assert train.image_shape == (28, 28) and train.name == "mnist-train"


def test_load_mnist_from_cache_env_var(tmp_path):
    tiny_mnist(tmp_path / "cache" / "mnist")  # TINYGRAD_LAB_CACHE points at tmp/cache
    train, test = data.load_mnist(download=False)
    assert train.X.shape == (6, 784) and len(test) == 4


def test_images_and_labels_that_do_not_match(tmp_path):
    root = tmp_path / "mixed"
    tiny_mnist(root)
    write_idx(root / "t10k-labels-idx1-ubyte.gz", np.array([1, 2], np.uint8))
    with pytest.raises(DataError, match="4 images .* but 2 labels"):
        data.load_mnist(root=root, download=False)
    write_idx(root / "t10k-labels-idx1-ubyte.gz", np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"expected IDX labels \(magic 0x00000801: 1-D unsigned "
                                        r"bytes\), got a 3-D uint8 .* is this an images file\?"):
        data.load_mnist(root=root, download=False)
    tiny_mnist(root)
    write_idx(root / "t10k-images-idx3-ubyte.gz", np.array([1, 2, 3, 4], np.uint8))
    with pytest.raises(DataError, match=r"expected IDX images \(magic 0x00000803: 3-D unsigned "
                                        r"bytes\), got a 1-D uint8 .* is this a labels file\?"):
        data.load_mnist(root=root, download=False)


def test_missing_without_download_says_what_to_do(tmp_path):
    with pytest.raises(DatasetUnavailableError) as info:
        data.load_mnist(download=False)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "download=False" in message and "TINYGRAD_LAB_CACHE" in message
    assert str(tmp_path / "cache" / "mnist") in message and "root=" in message
    assert not (tmp_path / "cache").exists()


def test_fashion_message_names_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "FASHION_MNIST_SYSTEM_DIRS", (tmp_path / "not-installed",))
    with pytest.raises(DatasetUnavailableError, match="dataset-fashion-mnist"):
        data.load_fashion_mnist(download=False)


# --------------------------------------------------------------------------------------
# Downloading from a real HTTP server on 127.0.0.1
# --------------------------------------------------------------------------------------
class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; counts requests; can cut chosen files off halfway."""

    def do_GET(self):
        self.server.requests.append(self.path)
        name = self.path.rsplit("/", 1)[-1]
        if name in self.server.cut_off:
            body = (Path(self.directory) / name).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def server(tmp_path):
    """A real HTTP server on 127.0.0.1 (port chosen by the OS) serving tmp/served."""
    served = tmp_path / "served"
    arrays = tiny_mnist(served)
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(served)))
    httpd.requests, httpd.cut_off = [], set()
    # a short poll interval makes shutdown() quick
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.served, httpd.arrays = served, arrays
    httpd.checksums = {p.name: sha256_of(p) for p in served.iterdir()}
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"  # nobody listens there any more


def test_download_verifies_and_caches_then_uses_cache(server, tmp_path):
    train, test = data.load_mnist(mirrors=[server.url], checksums=server.checksums)
    assert np.array_equal(train.X.reshape(6, 28, 28) * 255,
                          server.arrays["train-images-idx3-ubyte"].astype(np.float32))
    assert test.y.tolist() == [7, 2, 1, 0]
    cache = tmp_path / "cache" / "mnist"
    assert files_in(cache) == sorted(server.checksums)  # the four files, no temp file left
    assert {p.name: sha256_of(p) for p in cache.iterdir()} == server.checksums
    assert len(server.requests) == 4

    again = data.load_mnist(mirrors=[server.url], checksums=server.checksums)
    assert len(server.requests) == 4  # served from the cache: the server was not asked
    assert np.array_equal(again.train.X, train.X)


def test_download_into_explicit_root(server, tmp_path):
    root = tmp_path / "my-data"
    data.load_mnist(root=root, mirrors=[server.url], checksums=server.checksums)
    assert files_in(root) == sorted(server.checksums)
    assert not (tmp_path / "cache").exists()


def test_next_mirror_is_tried_when_one_is_down_or_missing_the_file(server):
    mirrors = [closed_port_url(), server.url + "no-such-folder/", server.url]
    train, _ = data.load_mnist(mirrors=mirrors, checksums=server.checksums)
    assert len(train) == 6
    assert any("no-such-folder" in path for path in server.requests)  # the 404 was really tried


def test_corrupted_download_raises_and_leaves_nothing(server, tmp_path):
    served = server.served / "train-images-idx3-ubyte.gz"
    corrupted = bytearray(served.read_bytes())
    corrupted[-10] ^= 0x01
    served.write_bytes(bytes(corrupted))  # checksums still describe the original
    with pytest.raises(ChecksumError, match="SHA-256") as info:
        data.load_mnist(mirrors=[server.url], checksums=server.checksums)
    assert "train-images-idx3-ubyte.gz" in str(info.value)
    assert files_in(tmp_path / "cache") == []  # no bad file, no temp file


def test_size_from_the_table_is_checked(server, tmp_path):
    remote = server.served / "t10k-labels-idx1-ubyte.gz"
    with pytest.raises(ChecksumError, match="expected 9999"):
        data.download_file(remote.name, tmp_path / "dl", sha256_of(remote), [server.url],
                           size=9999)
    assert files_in(tmp_path / "dl") == []


def test_broken_connection_leaves_nothing(server, tmp_path):
    server.cut_off.add("train-images-idx3-ubyte.gz")
    with pytest.raises(DatasetUnavailableError, match="connection broke"):
        data.load_mnist(mirrors=[server.url], checksums=server.checksums)
    assert files_in(tmp_path / "cache") == []


def test_offline_message_says_what_to_do(tmp_path):
    url = closed_port_url()
    with pytest.raises(DatasetUnavailableError) as info:
        data.load_mnist(mirrors=[url], timeout=5)
    message = str(info.value)
    assert "every mirror failed" in message and url in message and "cannot connect" in message
    assert "TINYGRAD_LAB_CACHE" in message and str(tmp_path / "cache" / "mnist") in message
    assert "train-images-idx3-ubyte.gz" in message
    assert not (tmp_path / "cache").exists()  # an offline attempt creates no folders


def test_unknown_checksum_names_are_rejected():
    with pytest.raises(ValueError, match="unknown file names"):
        data.load_mnist(download=False, checksums={"train-images.gz": "0" * 64})


def test_builtin_checksums_are_well_formed():
    for table in (data.MNIST_FILES, data.FASHION_MNIST_FILES):
        assert len(table) == 4
        for remote in table.values():
            assert len(remote.sha256) == 64 and int(remote.sha256, 16) >= 0
            assert remote.filename.endswith("-ubyte.gz") and remote.size > 0
    assert data.FASHION_MNIST_FILES["train-images"].size == 26421880


# --------------------------------------------------------------------------------------
# Splits, normalisation, one-hot
# --------------------------------------------------------------------------------------
def indexed_dataset(n=200, num_classes=4, seed=0):
    """X holds each example's own index, so splits and batches can be traced back."""
    y = np.random.default_rng(seed).integers(0, num_classes, n)
    return Dataset(np.arange(n, dtype=np.float32)[:, None], y,
                   [f"c{k}" for k in range(num_classes)])


def ids(ds):
    return ds.X[:, 0].astype(int)


def test_train_val_split_partitions_and_stratifies():
    full = indexed_dataset()
    train, val = data.train_val_split(full, val_fraction=0.25, seed=3)
    assert set(ids(train)).isdisjoint(ids(val))
    assert sorted([*ids(train), *ids(val)]) == list(range(len(full)))
    for c in range(4):
        n_c = np.sum(full.y == c)
        assert np.sum(val.y == c) == math.floor(n_c * 0.25 + 0.5)
    assert np.all(np.diff(ids(train)) > 0)  # original order kept
    assert np.array_equal(full.y[ids(val)], val.y)  # labels travel with their examples


def test_split_same_seed_same_bits_and_generator_seed():
    full = data.load_digits()
    a_train, a_val = data.train_val_split(full, seed=7)
    b_train, b_val = data.train_val_split(full, seed=7)
    assert np.array_equal(a_val.X, b_val.X) and np.array_equal(a_train.y, b_train.y)
    _, c_val = data.train_val_split(full, seed=8)
    assert not np.array_equal(a_val.X, c_val.X)
    _, g_val = data.train_val_split(full, seed=np.random.default_rng(7))
    assert np.array_equal(g_val.X, a_val.X)  # a Generator seeded 7 is the same as seed 7


def test_unstratified_split_sizes():
    train, val = data.train_val_split(indexed_dataset(n=101), val_fraction=0.1, stratify=False)
    assert len(val) == 10 and len(train) == 91


def test_train_val_test_split_three_disjoint_parts():
    full = indexed_dataset(n=300)
    parts = data.train_val_test_split(full, val_fraction=0.2, test_fraction=0.1, seed=1)
    sets = [set(ids(p)) for p in parts]
    assert sum(len(s) for s in sets) == 300 and set.union(*sets) == set(range(300))
    assert abs(len(parts[1]) - 60) <= 4 and abs(len(parts[2]) - 30) <= 4  # per-class rounding
    assert [p.name for p in parts] == ["dataset-train", "dataset-val", "dataset-test"]


@pytest.mark.parametrize("kwargs, message", [
    ({"val_fraction": 0.0}, "between 0 and 1"),
    ({"val_fraction": 1.0}, "between 0 and 1"),
    ({"val_fraction": 0.001}, "part is empty"),
])
def test_split_rejects_bad_fractions(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.train_val_split(indexed_dataset(n=50), **kwargs)


def test_normalize_uses_train_stats_for_test():
    digits = data.load_digits()
    train, test = data.train_val_split(digits, seed=0)
    train_n, stats = data.normalize(train.X)
    assert train_n.dtype == np.float32 and not np.isnan(train_n).any()
    varying = train.X.std(axis=0) > 0
    assert np.allclose(train_n.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(train_n.std(axis=0)[varying], 1, atol=1e-4)
    assert np.all(train_n[:, ~varying] == 0)  # constant pixels give 0, not NaN
    test_n, same = data.normalize(test.X, *stats)
    assert np.allclose(test_n, (test.X - stats.mean) / stats.std)
    assert np.array_equal(same.mean, stats.mean) and np.array_equal(same.std, stats.std)


def test_normalize_argument_errors():
    X = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match="both mean and std"):
        data.normalize(X, mean=np.zeros(3))
    with pytest.raises(ValueError, match="does not fit one example"):
        data.normalize(X, np.zeros(5), np.ones(5))
    scaled, _ = data.normalize(X, 0.5, 2.0)  # scalars broadcast
    assert np.allclose(scaled, 0.25)


def test_one_hot():
    out = data.one_hot(np.array([2, 0, 1]), 4)
    assert out.dtype == np.float32 and out.shape == (3, 4)
    assert out.tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 2\] for 3 classes"):
        data.one_hot(np.array([3]), 3)
    with pytest.raises(ValueError, match="integer class indices"):
        data.one_hot(np.array([0.5]), 3)
    with pytest.raises(ValueError, match="num_classes must be a positive int, got 0"):
        data.one_hot(np.array([0]), 0)
    # data.one_hot is tl.one_hot with a 1-D check: the same rows, the same range check
    assert np.array_equal(out, tl.one_hot(np.array([2, 0, 1]), 4))
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 2\] for 3 classes"):
        tl.one_hot(np.array([[0], [3]]), 3)


# --------------------------------------------------------------------------------------
# DataLoader
# --------------------------------------------------------------------------------------
def batch_ids(loader):
    """One epoch as a list of lists of example indices."""
    return [xb.data[:, 0].astype(int).tolist() for xb, _ in loader]


def test_batches_are_tensors_with_the_right_dtypes():
    full = indexed_dataset(n=10)
    xb, yb = next(iter(DataLoader(full, batch_size=4, seed=0)))
    assert isinstance(xb, Tensor) and isinstance(yb, Tensor)
    assert xb.data.dtype == np.float32 and yb.data.dtype == np.int64
    assert xb.shape == (4, 1) and yb.shape == (4,)
    assert np.array_equal(full.y[xb.data[:, 0].astype(int)], yb.data)  # pairs stay together


@pytest.mark.parametrize("batch_size", [1, 7, 64, 200, 500, "full", None])
def test_each_example_once_per_epoch(batch_size):
    loader = DataLoader(indexed_dataset(n=200), batch_size=batch_size, seed=1)
    expected = 1 if batch_size in (None, "full", 500) else math.ceil(200 / batch_size)
    assert len(loader) == expected
    for _ in range(2):
        batches = batch_ids(loader)
        assert len(batches) == expected
        assert sorted(i for b in batches for i in b) == list(range(200))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), drop_last=st.booleans(),
       seed=st.integers(0, 2**32))
def test_loader_coverage_property(n, batch_size, drop_last, seed):
    if drop_last and batch_size > n:
        with pytest.raises(ValueError, match="no batch"):
            DataLoader(indexed_dataset(n), batch_size=batch_size, drop_last=drop_last)
        return
    loader = DataLoader(indexed_dataset(n), batch_size=batch_size, seed=seed, drop_last=drop_last)
    seen = [i for b in batch_ids(loader) for i in b]
    assert len(set(seen)) == len(seen)  # never twice in an epoch
    if drop_last:
        assert len(seen) == (n // batch_size) * batch_size
    else:
        assert sorted(seen) == list(range(n))


def test_drop_last():
    loader = DataLoader(indexed_dataset(n=50), batch_size=16, drop_last=True, seed=0)
    batches = batch_ids(loader)
    assert len(loader) == len(batches) == 3
    assert all(len(b) == 16 for b in batches)
    assert len({i for b in batches for i in b}) == 48


def test_full_batch_is_the_whole_set():
    digits = data.load_digits()
    (xb, yb), = list(DataLoader(digits, batch_size="full", shuffle=False))
    assert xb.shape == (1797, 64) and np.array_equal(xb.data, digits.X)
    assert np.array_equal(yb.data, digits.y)


def test_accepts_an_x_y_pair():
    X = np.arange(12, dtype=np.float64).reshape(6, 2)
    loader = DataLoader((X, [0, 1, 0, 1, 0, 1]), batch_size=3, shuffle=False)
    xb, yb = next(iter(loader))
    assert xb.data.dtype == np.float32 and yb.data.tolist() == [0, 1, 0]


def test_same_seed_same_batches_and_epochs_differ():
    run1 = DataLoader(indexed_dataset(), batch_size=32, seed=42)
    run2 = DataLoader(indexed_dataset(), batch_size=32, seed=42)
    epochs1 = [batch_ids(run1) for _ in range(3)]
    epochs2 = [batch_ids(run2) for _ in range(3)]
    assert epochs1 == epochs2
    assert epochs1[0] != epochs1[1]  # each epoch is reshuffled
    assert batch_ids(DataLoader(indexed_dataset(), batch_size=32, seed=43)) != epochs1[0]
    assert run1.epoch == 3


def test_no_shuffle_keeps_order():
    loader = DataLoader(indexed_dataset(n=10), batch_size=4, shuffle=False)
    assert batch_ids(loader) == batch_ids(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_set_epoch_reproduces_that_epoch():
    reference = DataLoader(indexed_dataset(), batch_size=50, seed=5)
    epochs = [batch_ids(reference) for _ in range(4)]
    jumper = DataLoader(indexed_dataset(), batch_size=50, seed=5)
    jumper.set_epoch(3)
    assert batch_ids(jumper) == epochs[3]
    assert jumper.epoch == 4


def test_resume_mid_epoch_from_state_dict_bit_for_bit():
    original = DataLoader(indexed_dataset(), batch_size=30, seed=None)  # seed from the OS
    batch_ids(original)
    iterator = iter(original)
    for _ in range(3):
        next(iterator)
    checkpoint = json.loads(json.dumps(original.state_dict()))  # survives a JSON checkpoint
    assert checkpoint["epoch"] == 1 and checkpoint["batch"] == 3
    rest_of_run = [xb.data.copy() for xb, _ in iterator] + \
        [xb.data.copy() for _ in range(2) for xb, _ in original]

    resumed = DataLoader(indexed_dataset(), batch_size=30, seed=123)
    resumed.load_state_dict(checkpoint)
    resumed_run = [xb.data for xb, _ in resumed] + \
        [xb.data for _ in range(2) for xb, _ in resumed]
    assert len(resumed_run) == len(rest_of_run) == 4 + 2 * 7
    assert all(np.array_equal(a, b) for a, b in zip(resumed_run, rest_of_run))


def test_state_after_the_last_batch_points_at_next_epoch():
    loader = DataLoader(indexed_dataset(n=10), batch_size=5, seed=0)
    states = [loader.state_dict()["epoch"] for _ in loader]  # read inside the loop
    assert states == [0, 1]  # after the last batch a checkpoint already says "next epoch"
    assert loader.state_dict() == {"seed": 0, "epoch": 1, "batch": 0}


def test_leaving_an_epoch_early_starts_a_new_one():
    loader = DataLoader(indexed_dataset(), batch_size=20, seed=9)
    for _ in loader:
        break
    assert loader.state_dict()["epoch"] == 1 and loader.state_dict()["batch"] == 0
    fresh = DataLoader(indexed_dataset(), batch_size=20, seed=9)
    fresh.set_epoch(1)
    assert batch_ids(loader) == batch_ids(fresh)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"batch_size": 0}, ValueError, "batch_size must be positive"),
    ({"batch_size": -3}, ValueError, "batch_size must be positive"),
    ({"batch_size": 2.5}, TypeError, "batch_size must be a positive int"),
    ({"batch_size": True}, TypeError, "batch_size must be a positive int"),
    ({"batch_size": 64, "drop_last": True}, ValueError, "no batch at all"),
    ({"seed": -1}, ValueError, "seed must be"),
])
def test_loader_argument_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        DataLoader(indexed_dataset(n=20), **kwargs)


def test_loader_rejects_bad_inputs_and_states():
    with pytest.raises(ValueError, match="3 rows but y has 2"):
        DataLoader((np.ones((3, 2)), [0, 1]))
    with pytest.raises(ValueError, match="integer class indices"):
        DataLoader((np.ones((2, 2)), [0.0, 1.0]))
    with pytest.raises(TypeError, match="Dataset or an \\(X, y\\) pair"):
        DataLoader(np.ones((3, 2)))
    loader = DataLoader(indexed_dataset(n=20), batch_size=5)
    with pytest.raises(ValueError, match="outside this loader's 0..3"):
        loader.load_state_dict({"seed": 0, "epoch": 0, "batch": 4})
    with pytest.raises(ValueError, match="missing keys"):
        loader.load_state_dict({"seed": 0})
