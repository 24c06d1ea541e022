"""Data: datasets as NumPy arrays, the IDX file format, downloads, splits and batches.

Everything a training loop needs before the first forward pass:

* ``Dataset``: images as float32 rows ``X``, int64 class indices ``y``, class names and
  the image shape (so plots can draw rows back as pictures).
* ``load_digits()`` (bundled with scikit-learn, always available), ``load_mnist()`` and
  ``load_fashion_mnist()`` (IDX files: found locally or downloaded and checked).
* ``read_idx(path)``: the IDX format, checked byte for byte.
* ``train_val_split``, ``train_val_test_split``, ``normalize``, ``one_hot``.
* ``DataLoader``: reproducible shuffled batches as Tensors, resumable from a checkpoint.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import os
import ssl
import struct
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
from tqdm import tqdm  # not tqdm.auto: it warns in notebooks without ipywidgets

from . import functional as F
from .tensor import Tensor

__all__ = [
    "DataError", "ChecksumError", "DatasetUnavailableError",
    "Dataset", "TrainTest", "NormStats", "RemoteFile",
    "load_digits", "load_mnist", "load_fashion_mnist",
    "read_idx", "download_file", "cache_dir",
    "train_val_split", "train_val_test_split", "normalize", "one_hot",
    "DataLoader",
    "MNIST_MIRRORS", "FASHION_MNIST_MIRRORS", "MNIST_FILES", "FASHION_MNIST_FILES",
    "FASHION_MNIST_SYSTEM_DIRS", "CACHE_ENV_VAR",
]


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------
class DataError(ValueError):
    """A data file or array is not what it claims to be (the message names it and why)."""


class ChecksumError(DataError):
    """A downloaded file's SHA-256 differs from the expected one (nothing was kept)."""


class DatasetUnavailableError(DataError, FileNotFoundError):
    """The files are not on this machine and could not (or may not) be downloaded."""


# --------------------------------------------------------------------------------------
# Dataset
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled set of examples, one row per example.

    ``X``: float32, shape ``(N, features...)``; ``y``: int64 class indices, shape ``(N,)``;
    ``classes``: one name per class index; ``image_shape``: how one row of ``X`` is drawn
    as a picture, e.g. ``(28, 28)``. Arrays are converted to float32 / int64 on creation.
    """

    X: np.ndarray
    y: np.ndarray
    classes: list
    name: str = "dataset"
    image_shape: tuple = ()

    def __post_init__(self):
        X = np.asarray(self.X)
        y = np.asarray(self.y)
        if X.dtype.kind not in "biuf":
            raise DataError(f"Dataset {self.name!r}: X must be numeric, got dtype {X.dtype}")
        if y.dtype.kind not in "iu":
            raise DataError(f"Dataset {self.name!r}: y must hold integer class indices, got "
                            f"dtype {y.dtype}; convert labels with y.astype(np.int64) first")
        if X.ndim < 2 or y.ndim != 1 or len(X) != len(y):
            raise DataError(f"Dataset {self.name!r}: need X of shape (N, features...) and y of "
                            f"shape (N,), got X {X.shape} and y {y.shape}")
        classes = list(self.classes)
        if len(y) and (y.min() < 0 or y.max() >= len(classes)):
            raise DataError(f"Dataset {self.name!r}: labels span {y.min()}..{y.max()} but there "
                            f"are {len(classes)} class names; labels must be in 0..{len(classes) - 1}")
        image_shape = tuple(int(d) for d in (self.image_shape or X.shape[1:]))
        if math.prod(image_shape) != math.prod(X.shape[1:]):
            raise DataError(f"Dataset {self.name!r}: image_shape {image_shape} does not hold the "
                            f"{math.prod(X.shape[1:])} values of one example (X {X.shape})")
        # frozen dataclass: __post_init__ is the one place allowed to normalise fields
        object.__setattr__(self, "X", X.astype(np.float32, copy=False))
        object.__setattr__(self, "y", y.astype(np.int64, copy=False))
        object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "image_shape", image_shape)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def num_classes(self) -> int:
        """How many classes there are (``len(classes)``)."""
        return len(self.classes)

    def subset(self, indices, name: str | None = None) -> "Dataset":
        """The examples at ``indices`` (in that order), same classes and image shape."""
        indices = np.asarray(indices)
        return Dataset(self.X[indices], self.y[indices], self.classes,
                       name or self.name, self.image_shape)

    def __repr__(self):
        return (f"Dataset(name={self.name!r}, N={len(self)}, X={self.X.shape} {self.X.dtype}, "
                f"classes={self.num_classes}, image_shape={self.image_shape})")


class TrainTest(NamedTuple):
    """The official training and test sets of a dataset."""

    train: Dataset
    test: Dataset


# --------------------------------------------------------------------------------------
# scikit-learn digits: the embedded default
# --------------------------------------------------------------------------------------
def load_digits() -> Dataset:
    """scikit-learn's bundled 8x8 handwritten digits: 1797 examples, no network needed.

    X has shape (1797, 64), float32 in [0, 1] (the raw pixels are 0..16); image_shape (8, 8).
    """
    from sklearn.datasets import load_digits as sklearn_digits  # imported late: sklearn is slow to import

    bunch = sklearn_digits()
    X = (bunch.data / 16.0).astype(np.float32)
    return Dataset(X, bunch.target.astype(np.int64), [str(c) for c in bunch.target_names],
                   name="digits", image_shape=(8, 8))


# --------------------------------------------------------------------------------------
# The IDX format (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
#
#   bytes 0-1  zero
#   byte  2    element type: 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
#   byte  3    number of dimensions
#   then one big-endian uint32 per dimension, then the elements, big-endian, row-major.
# So MNIST images start with 0x00000803 (ubyte, 3-D) and labels with 0x00000801 (ubyte, 1-D).
# --------------------------------------------------------------------------------------
IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_SIGNATURE = b"\x1f\x8b"


def read_idx(path) -> np.ndarray:
    """Read an IDX file (plain or gzip-compressed) into a NumPy array in native byte order.

    Checks the magic number, the element type, the dimensions and that the data is exactly
    as long as the dimensions say. Anything else raises ``DataError`` naming the file.
    """
    path = Path(path)
    raw = _read_maybe_gzip(path)
    dtype, shape, header_size = _parse_idx_header(raw, path)
    payload = memoryview(raw)[header_size:]
    expected = math.prod(shape) * dtype.itemsize
    if len(payload) < expected:
        raise DataError(f"{path}: truncated IDX file: the header promises {shape} "
                        f"({expected} bytes of data) but only {len(payload)} bytes follow; "
                        f"delete the file and download it again")
    if len(payload) > expected:
        raise DataError(f"{path}: {len(payload) - expected} unexpected bytes after the "
                        f"{expected} bytes of data promised by the header {shape}; "
                        f"this is not a valid IDX file")
    # astype copies into a writable, native-endian array (frombuffer views are read-only)
    return np.frombuffer(payload, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _read_maybe_gzip(path: Path) -> bytes:
    """The file's bytes, decompressed if it is gzip (judged by content, not only the name)."""
    raw = path.read_bytes()
    if raw[:2] != _GZIP_SIGNATURE:
        if path.suffix == ".gz":
            raise DataError(f"{path}: named .gz but is not gzip-compressed (starts with "
                            f"{raw[:8].hex(' ')!r}); it is probably an error page or another "
                            f"file saved under this name: delete it and download it again")
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:  # BadGzipFile is an OSError
        raise DataError(f"{path}: corrupt gzip data ({err}); the download was probably cut "
                        f"short: delete the file and download it again") from None


def _parse_idx_header(raw: bytes, path: Path):
    """(element dtype, shape, header length in bytes) from the start of an IDX file."""
    if len(raw) < 4:
        raise DataError(f"{path}: only {len(raw)} bytes, too short for an IDX header")
    zero, type_code, ndim = raw[0:2], raw[2], raw[3]
    if zero != b"\x00\x00" or type_code not in _IDX_DTYPES or ndim == 0:
        raise DataError(f"{path}: not an IDX file: magic number 0x{raw[:4].hex()} (expected "
                        f"0x{IDX_IMAGES_MAGIC:08x} for images or 0x{IDX_LABELS_MAGIC:08x} "
                        f"for labels)")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{path}: truncated IDX header: {ndim} dimensions need "
                        f"{header_size} bytes, the file has {len(raw)}")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    return np.dtype(_IDX_DTYPES[type_code]), shape, header_size


# What an images file and a labels file hold: (dimensions, magic number, the other kind).
_IDX_KINDS = {"images": (3, IDX_IMAGES_MAGIC, "a labels file"),
              "labels": (1, IDX_LABELS_MAGIC, "an images file")}


def _read_idx_of_kind(path: Path, kind: str) -> np.ndarray:
    """An IDX file that must hold ``kind``: "images" (3-D bytes) or "labels" (1-D bytes)."""
    ndim, magic, other = _IDX_KINDS[kind]
    array = read_idx(path)
    if array.ndim != ndim or array.dtype != np.uint8:
        raise DataError(f"{path}: expected IDX {kind} (magic 0x{magic:08x}: {ndim}-D "
                        f"unsigned bytes), got a {array.ndim}-D {array.dtype} array "
                        f"{array.shape}; is this {other}?")
    return array


# --------------------------------------------------------------------------------------
# Where the files live: mirrors, checksums, local directories
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RemoteFile:
    """One file to download: its name on the mirrors, SHA-256 and size in bytes (or None)."""

    filename: str
    sha256: str
    size: int | None = None


# Tried in order. The S3 mirror is the one torchvision uses; yann.lecun.com often refuses
# scripted downloads nowadays, so it comes last. Plain http is fine: SHA-256 is checked.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
FASHION_MNIST_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)

# SHA-256 and sizes of the upstream .gz files, from tensorflow/datasets'
# url_checksums/mnist.txt and url_checksums/fashion_mnist.txt. Cross-checked: the sizes
# are those LeCun's page and the Fashion-MNIST README give; torchvision lists the MD5s
# (MNIST: f68b3c2d..., d53e105e..., 9fb629c4..., ec29112d...; Fashion-MNIST README:
# 8d4fb7e6..., 25c81989..., bef4ecab..., bb300cfd...).
MNIST_FILES = {
    "train-images": RemoteFile("train-images-idx3-ubyte.gz",
                               "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
    "train-labels": RemoteFile("train-labels-idx1-ubyte.gz",
                               "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
    "test-images": RemoteFile("t10k-images-idx3-ubyte.gz",
                              "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
    "test-labels": RemoteFile("t10k-labels-idx1-ubyte.gz",
                              "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
}
FASHION_MNIST_FILES = {
    "train-images": RemoteFile("train-images-idx3-ubyte.gz",
                               "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880),
    "train-labels": RemoteFile("train-labels-idx1-ubyte.gz",
                               "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515),
    "test-images": RemoteFile("t10k-images-idx3-ubyte.gz",
                              "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102),
    "test-labels": RemoteFile("t10k-labels-idx1-ubyte.gz",
                              "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148),
}

# Debian's package dataset-fashion-mnist installs the files here. Debian recompressed them
# (each .gz is 23-24 bytes smaller, same IDX content), so they are checked by their IDX
# structure, not by the upstream SHA-256, which only applies to downloads.
FASHION_MNIST_SYSTEM_DIRS = (Path("/usr/share/datasets/fashion-mnist"),)

CACHE_ENV_VAR = "TINYGRAD_LAB_CACHE"

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def cache_dir(name: str | None = None) -> Path:
    """Where downloads are kept: ``$TINYGRAD_LAB_CACHE`` or ``~/.cache/tinygrad-lab``, plus ``name``."""
    base = os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "tinygrad-lab"
    base = Path(base).expanduser()
    return base / name if name else base


# --------------------------------------------------------------------------------------
# Downloading: mirrors in order, progress bar, SHA-256, atomic write
# --------------------------------------------------------------------------------------
# What "this mirror is unreachable" looks like; other OSErrors (a full disk) are real errors.
_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError,
                   TimeoutError, ssl.SSLError)
_CHUNK_BYTES = 1 << 20


def download_file(filename: str, dest_dir, sha256: str, mirrors: Sequence[str], *,
                  size: int | None = None, progress: bool | None = None,
                  timeout: float = 30.0) -> Path:
    """Download ``filename`` from the first mirror that works into ``dest_dir``; return its path.

    The bytes go to a temporary file in ``dest_dir`` and are renamed into place only after
    their SHA-256 matches, so a failed or corrupt download leaves nothing behind.
    Raises ``ChecksumError`` if a mirror served wrong bytes (and no mirror served the right
    ones), ``DatasetUnavailableError`` if no mirror could be reached.
    """
    if not mirrors:
        raise DatasetUnavailableError(f"cannot download {filename}: the mirror list is empty")
    dest_dir = Path(dest_dir)
    failures = []  # (url, reason) for the final message
    checksum_failed = False
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        try:
            return _download_verified(url, dest_dir / filename, sha256, size, progress, timeout)
        except ChecksumError as err:
            checksum_failed = True
            failures.append((url, str(err)))
        except _NETWORK_ERRORS as err:
            failures.append((url, _describe_network_error(err)))
    tried = "\n".join(f"  - {url}: {reason}" for url, reason in failures)
    if checksum_failed:
        raise ChecksumError(f"no mirror served a correct {filename}:\n{tried}")
    raise DatasetUnavailableError(f"could not download {filename}; every mirror failed:\n{tried}")


def _download_verified(url, dest: Path, sha256, size, progress, timeout) -> Path:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        # Only now that a server answered: an offline attempt creates no directory.
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as tmp:
                digest, n_bytes = _copy_hashing(response, tmp, size or _content_length(response),
                                                progress, desc=dest.name)
            if size is not None and n_bytes != size:
                raise ChecksumError(f"got {n_bytes} bytes, expected {size}")
            if digest != sha256.lower():
                raise ChecksumError(f"SHA-256 {digest}, expected {sha256}")
            os.replace(tmp_name, dest)  # atomic: readers see no file or the whole file
            return dest
        finally:
            if os.path.exists(tmp_name):  # anything but success: leave no partial file
                os.remove(tmp_name)


def _copy_hashing(response, out, total, progress, desc):
    """Copy the response into the open file ``out``; return (sha256 hex digest, byte count)."""
    digest = hashlib.sha256()
    n_bytes = 0
    # disable=None: tqdm shows the bar only on a terminal, so logs and tests stay quiet
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
              leave=False, disable=None if progress is None else not progress) as bar:
        while chunk := response.read(_CHUNK_BYTES):
            out.write(chunk)
            digest.update(chunk)
            n_bytes += len(chunk)
            bar.update(len(chunk))
    # read(amt) returns a short body without complaint when the server hangs up early
    announced = _content_length(response)
    if announced is not None and n_bytes != announced:
        raise ConnectionError(f"connection broke after {n_bytes} of {announced} bytes")
    return digest.hexdigest(), n_bytes


def _content_length(response):
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def _describe_network_error(err) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return f"cannot connect ({err.reason})"
    if isinstance(err, http.client.IncompleteRead):
        return f"connection broke after {len(err.partial)} bytes"
    if type(err) is ConnectionError:  # ours, from _copy_hashing: the message says it all
        return str(err)
    return f"{type(err).__name__}: {err}"


# --------------------------------------------------------------------------------------
# MNIST-style datasets: find or download, then read
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _IdxDatasetInfo:
    name: str             # also the cache subdirectory
    title: str            # for messages
    classes: list
    files: dict           # part -> RemoteFile
    mirrors: tuple
    system_dirs: tuple
    hint: str = ""        # an extra way to get the files, for the error message


def load_mnist(root=None, download: bool = True, *, flatten: bool = True,
               mirrors: Sequence[str] | None = None, checksums: dict | None = None,
               progress: bool | None = None, timeout: float = 30.0) -> TrainTest:
    """MNIST handwritten digits as ``(train, test)``: 60000 and 10000 examples.

    X is float32 in [0, 1], shape (N, 784) (or (N, 28, 28) with ``flatten=False``);
    image_shape is (28, 28). Files are looked for in ``root``, then in the cache
    (``$TINYGRAD_LAB_CACHE/mnist``, default ``~/.cache/tinygrad-lab/mnist``), then
    downloaded from ``mirrors`` (default ``MNIST_MIRRORS``) if ``download`` is true.
    ``checksums`` maps file names to the SHA-256 to expect instead of the built-in ones.
    """
    info = _IdxDatasetInfo("mnist", "MNIST", MNIST_CLASSES, MNIST_FILES,
                           MNIST_MIRRORS, ())
    return _load_idx_dataset(info, root, download, flatten, mirrors, checksums, progress, timeout)


def load_fashion_mnist(root=None, download: bool = True, *, flatten: bool = True,
                       mirrors: Sequence[str] | None = None, checksums: dict | None = None,
                       progress: bool | None = None, timeout: float = 30.0) -> TrainTest:
    """Zalando's Fashion-MNIST (10 kinds of clothing) as ``(train, test)``, same layout as MNIST.

    Looked for in ``root``, the cache (``$TINYGRAD_LAB_CACHE/fashion-mnist``), Debian's
    ``/usr/share/datasets/fashion-mnist`` (package dataset-fashion-mnist), then downloaded
    from ``mirrors`` (default ``FASHION_MNIST_MIRRORS``). Other arguments as ``load_mnist``.
    """
    info = _IdxDatasetInfo("fashion-mnist", "Fashion-MNIST", FASHION_MNIST_CLASSES,
                           FASHION_MNIST_FILES, FASHION_MNIST_MIRRORS,
                           tuple(FASHION_MNIST_SYSTEM_DIRS),
                           hint="or install the Debian package dataset-fashion-mnist "
                                "(sudo apt install dataset-fashion-mnist)")
    return _load_idx_dataset(info, root, download, flatten, mirrors, checksums, progress, timeout)


def _load_idx_dataset(info, root, download, flatten, mirrors, checksums, progress, timeout):
    files = _with_checksums(info.files, checksums)
    cache = cache_dir(info.name)
    search_dirs = ([Path(root).expanduser()] if root is not None else []) + [cache] + \
        [Path(d) for d in info.system_dirs]
    download_dir = search_dirs[0]  # where the user asked (root), else the cache
    mirrors = tuple(info.mirrors if mirrors is None else mirrors)

    paths = {}
    for part, remote in files.items():
        found = _find_local(remote.filename, search_dirs)
        if found is None:
            if not download:
                raise DatasetUnavailableError(_missing_message(
                    info, files, search_dirs, cache, "download=False was given"))
            try:
                found = download_file(remote.filename, download_dir, remote.sha256, mirrors,
                                      size=remote.size, progress=progress, timeout=timeout)
            except DatasetUnavailableError as err:
                raise DatasetUnavailableError(
                    _missing_message(info, files, search_dirs, cache, str(err))) from None
        paths[part] = found

    return TrainTest(*(_idx_split(info, paths, split, flatten) for split in ("train", "test")))


def _with_checksums(files: dict, checksums: dict | None) -> dict:
    """The file table with the SHA-256 of some files replaced (their size is then unknown)."""
    if not checksums:
        return files
    known = {remote.filename for remote in files.values()}
    unknown = set(checksums) - known
    if unknown:
        raise ValueError(f"checksums: unknown file names {sorted(unknown)}; "
                         f"expected some of {sorted(known)}")
    return {part: RemoteFile(r.filename, checksums[r.filename], None) if r.filename in checksums
            else r for part, r in files.items()}


def _find_local(filename: str, search_dirs) -> Path | None:
    """The first existing ``dir/filename`` or ``dir/filename-without-.gz``."""
    names = [filename, filename.removesuffix(".gz")]
    for directory in search_dirs:
        for name in names:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None


def _missing_message(info, files, search_dirs, cache, reason) -> str:
    names = ", ".join(r.filename for r in files.values())
    looked_in = "\n".join(f"  {d}" for d in search_dirs)
    hint = f"\n- {info.hint}" if info.hint else ""
    return (f"{info.title} is not on this machine and was not downloaded: {reason}\n"
            f"Looked in:\n{looked_in}\n"
            f"To get it without network access:\n"
            f"- copy the files {names} (with or without .gz) into {cache} "
            f"(set {CACHE_ENV_VAR} to put the cache elsewhere),\n"
            f"- or pass root=<folder holding them>{hint}")


def _idx_split(info, paths, split, flatten) -> Dataset:
    images = _read_idx_of_kind(paths[f"{split}-images"], "images")
    labels = _read_idx_of_kind(paths[f"{split}-labels"], "labels")
    if len(images) != len(labels):
        raise DataError(f"{info.title} {split}: {len(images)} images "
                        f"({paths[f'{split}-images']}) but {len(labels)} labels "
                        f"({paths[f'{split}-labels']}); the two files do not belong together")
    if labels.size and labels.max() >= len(info.classes):
        raise DataError(f"{paths[f'{split}-labels']}: label {labels.max()} but {info.title} "
                        f"has only {len(info.classes)} classes")
    X = images.astype(np.float32) / np.float32(255.0)
    if flatten:
        X = X.reshape(len(X), -1)
    return Dataset(X, labels.astype(np.int64), info.classes, name=f"{info.name}-{split}",
                   image_shape=images.shape[1:])


# --------------------------------------------------------------------------------------
# Splits, normalisation, one-hot
# --------------------------------------------------------------------------------------
def train_val_split(dataset: Dataset, val_fraction: float = 0.1, seed=0,
                    stratify: bool = True) -> tuple[Dataset, Dataset]:
    """Split into ``(train, val)`` with a fraction ``val_fraction`` in val.

    ``seed`` (int or ``numpy.random.Generator``) fixes the split: same seed, same split.
    With ``stratify`` each class contributes ``round(n_class * val_fraction)`` examples to
    val, so class proportions match. Both parts keep the original order of the examples.
    """
    train, val = _split(dataset, {"val": val_fraction}, seed, stratify)
    return train, val


def train_val_test_split(dataset: Dataset, val_fraction: float = 0.1,
                         test_fraction: float = 0.1, seed=0,
                         stratify: bool = True) -> tuple[Dataset, Dataset, Dataset]:
    """Split into ``(train, val, test)``; as ``train_val_split`` with a third part."""
    train, val, test = _split(dataset, {"val": val_fraction, "test": test_fraction},
                              seed, stratify)
    return train, val, test


def _split(dataset, fractions: dict, seed, stratify) -> list:
    for part, fraction in fractions.items():
        if not 0 < fraction < 1:
            raise ValueError(f"{part}_fraction must be between 0 and 1 (exclusive), got {fraction}")
    if sum(fractions.values()) >= 1:
        raise ValueError(f"the fractions {fractions} leave nothing for training; their sum "
                         f"must be below 1")
    rng = _as_generator(seed)
    # Without stratification the whole set is one group.
    groups = ([np.flatnonzero(dataset.y == c) for c in np.unique(dataset.y)] if stratify
              else [np.arange(len(dataset))])
    parts = {name: [] for name in ["train", *fractions]}
    for group in groups:
        shuffled = rng.permutation(group)
        start = 0
        for name, fraction in fractions.items():
            count = int(np.floor(len(group) * fraction + 0.5))  # round half up, not to even
            parts[name].append(shuffled[start:start + count])
            start += count
        parts["train"].append(shuffled[start:])
    result = []
    for name, chunks in parts.items():
        indices = np.sort(np.concatenate(chunks))
        if len(indices) == 0:
            raise ValueError(f"the {name} part is empty: {len(dataset)} examples with fractions "
                             f"{fractions} (stratify={stratify}); use larger fractions")
        result.append(dataset.subset(indices, name=f"{dataset.name}-{name}"))
    return result


def _as_generator(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


class NormStats(NamedTuple):
    """Per-feature mean and standard deviation used by ``normalize``."""

    mean: np.ndarray
    std: np.ndarray


def normalize(X, mean=None, std=None) -> tuple[np.ndarray, NormStats]:
    """Standardise each feature: ``(X - mean) / std``; return ``(X_normalized, NormStats)``.

    Without ``mean``/``std`` they are computed from ``X`` (do this on the training set)
    and returned, so validation and test data get the same transform:
    ``X_test_n, _ = normalize(X_test, *stats)``. Constant features (std 0, like the
    always-blank border pixels of digits) are divided by 1 instead, giving 0, not NaN.
    """
    X = np.asarray(X, dtype=np.float32)
    if (mean is None) != (std is None):
        raise ValueError("normalize: pass both mean and std (the stats from the training "
                         "set), or neither to compute them from X")
    if mean is None:
        mean = X.mean(axis=0)
        std = X.std(axis=0)
        std = np.where(std > 0, std, 1.0).astype(np.float32)
    mean = np.asarray(mean, dtype=np.float32)
    std = np.asarray(std, dtype=np.float32)
    for stat_name, stat in (("mean", mean), ("std", std)):
        if not _fits(stat.shape, X.shape[1:]):
            raise ValueError(f"normalize: {stat_name} has shape {stat.shape}, which does not "
                             f"fit one example of shape {X.shape[1:]}")
    if np.any(std <= 0):
        raise ValueError("normalize: std must be positive everywhere")
    return (X - mean) / std, NormStats(mean, std)


def _fits(stat_shape, example_shape) -> bool:
    """True if a statistic of ``stat_shape`` broadcasts onto one example without growing it."""
    try:
        return np.broadcast_shapes(stat_shape, example_shape) == example_shape
    except ValueError:
        return False


def one_hot(y, num_classes: int) -> np.ndarray:
    """Class indices ``(N,)`` -> float32 rows ``(N, num_classes)`` with a single 1.

    ``tl.one_hot`` with a data set's shape check: ``y`` must be one label per example.
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"one_hot: y must be a 1-D array of integer class indices, got "
                         f"shape {y.shape} dtype {y.dtype}")
    return F.one_hot(y, num_classes)


# --------------------------------------------------------------------------------------
# DataLoader
# --------------------------------------------------------------------------------------
class DataLoader:
    """Batches ``(Tensor(xb), Tensor(yb))`` of a Dataset or an ``(X, y)`` pair.

    ``batch_size``: an int, or ``"full"``/``None`` for the whole set in one batch
    (full-batch training is just a batch size). ``len(loader)`` is the number of batches.

    Randomness: each ``iter(loader)`` runs one epoch. Epoch ``e`` is shuffled by a fresh
    ``numpy.random.default_rng([seed, e])``, so the order depends only on ``(seed, e)``,
    never on what ran before: same seed, same batches, run after run. The loader's whole
    random state is therefore its position, ``state_dict() == {"seed", "epoch", "batch"}``
    (the next batch to produce); ``load_state_dict`` restores it, so a run resumed from a
    checkpoint, even one taken mid-epoch, sees exactly the batches the original run saw.
    ``set_epoch(e)`` jumps to the start of epoch ``e``. With ``seed=None`` a seed is drawn
    from the OS once and kept in the state; a ``Generator`` as seed gives one draw from it.
    """

    def __init__(self, data, batch_size=64, shuffle: bool = True, seed=None,
                 drop_last: bool = False):
        self.X, self.y = _as_arrays(data)
        n = len(self.y)
        if n == 0:
            raise ValueError("DataLoader: the dataset is empty")
        self.batch_size = _check_batch_size(batch_size, n)
        if drop_last and self.batch_size > n:
            raise ValueError(f"DataLoader: drop_last=True with batch_size={self.batch_size} "
                             f"> {n} examples would give no batch at all; use a smaller "
                             f"batch_size or drop_last=False")
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = _draw_seed(seed)
        self._epoch = 0   # the epoch the next batch belongs to
        self._batch = 0   # the index of the next batch in that epoch

    def __len__(self) -> int:
        n = len(self.y)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    @property
    def epoch(self) -> int:
        """The epoch the next batch belongs to (the number of epochs completed so far)."""
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration run epoch ``epoch`` from its first batch."""
        if int(epoch) != epoch or epoch < 0:
            raise ValueError(f"set_epoch: epoch must be a non-negative integer, got {epoch!r}")
        self._epoch, self._batch = int(epoch), 0

    def state_dict(self) -> dict:
        """Everything needed to continue the exact same batch sequence (plain ints)."""
        return {"seed": self.seed, "epoch": self._epoch, "batch": self._batch}

    def load_state_dict(self, state: dict) -> None:
        """Continue from a ``state_dict()``: the next batch is the one that was next then."""
        missing = {"seed", "epoch", "batch"} - set(state)
        if missing:
            raise ValueError(f"load_state_dict: missing keys {sorted(missing)}; pass the dict "
                             f"returned by DataLoader.state_dict()")
        if not 0 <= state["batch"] < len(self):
            raise ValueError(f"load_state_dict: batch {state['batch']} is outside this "
                             f"loader's 0..{len(self) - 1}; was it saved with another "
                             f"batch_size or dataset?")
        self.seed = int(state["seed"])
        self.set_epoch(state["epoch"])
        self._batch = int(state["batch"])

    def epoch_order(self, epoch: int) -> np.ndarray:
        """The order in which epoch ``epoch`` visits the examples (a permutation of 0..N-1)."""
        n = len(self.y)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, epoch]).permutation(n)

    def __iter__(self):
        epoch, start = self._epoch, self._batch
        order = self.epoch_order(epoch)
        n_batches = len(self)
        try:
            for b in range(start, n_batches):
                # Advance before yielding: while the caller holds batch b, a checkpoint
                # must say "continue after b".
                self._epoch, self._batch = (epoch, b + 1) if b + 1 < n_batches else (epoch + 1, 0)
                idx = order[b * self.batch_size:(b + 1) * self.batch_size]
                yield Tensor(self.X[idx]), Tensor(self.y[idx])
        finally:
            # An epoch left early (break) still counts as used: the next loop starts a new one,
            # unless someone has moved the loader meanwhile (set_epoch, load_state_dict).
            if self._epoch == epoch:
                self._epoch, self._batch = epoch + 1, 0

    def __repr__(self):
        return (f"DataLoader(N={len(self.y)}, batch_size={self.batch_size}, batches={len(self)}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}, "
                f"epoch={self._epoch})")


def _as_arrays(data):
    if isinstance(data, Dataset):
        return data.X, data.y
    if isinstance(data, (tuple, list)) and len(data) == 2:
        X = np.asarray(data[0], dtype=np.float32)
        y = np.asarray(data[1])
        if y.dtype.kind not in "iu":
            raise ValueError(f"DataLoader: y must hold integer class indices, got dtype "
                             f"{y.dtype}; use y.astype(np.int64)")
        if len(X) != len(y):
            raise ValueError(f"DataLoader: X has {len(X)} rows but y has {len(y)} labels")
        return X, y.astype(np.int64, copy=False)
    raise TypeError(f"DataLoader: expected a Dataset or an (X, y) pair, got "
                    f"{type(data).__name__}")


def _check_batch_size(batch_size, n: int) -> int:
    if batch_size is None or batch_size == "full":
        return n
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"DataLoader: batch_size must be a positive int, 'full' or None, "
                        f"got {batch_size!r}")
    if batch_size <= 0:
        raise ValueError(f"DataLoader: batch_size must be positive, got {batch_size}; "
                         f"use 'full' for the whole set in one batch")
    return int(batch_size)


def _draw_seed(seed) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy)  # fresh OS entropy, kept for state_dict
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**63))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"DataLoader: seed must be a non-negative int, a numpy Generator or "
                         f"None, got {seed!r}")
    return int(seed)
