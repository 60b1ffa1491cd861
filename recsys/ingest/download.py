"""MovieLens archives from GroupLens: downloaded once into a cache, checksum-verified, or taken
from a local mirror folder instead of the network.

Lookup order of :func:`fetch_movielens`: the mirror folder (``mirror`` argument, else
``$RECSYS_MOVIELENS_MIRROR``) if it holds ``<name>.zip``; else a verified copy in ``cache_dir``;
else a download from ``base_url`` (argument, else ``$RECSYS_MOVIELENS_BASE_URL``, else
GroupLens) into a temporary file in ``cache_dir``, verified, then atomically renamed, so an
interrupted download never leaves a partial ``<name>.zip`` behind.

Checksums: the sha256 of the archives we know byte for byte; for the others the md5 that
GroupLens publishes next to each zip (``<url>.md5``), fetched with the archive and kept beside
the cached copy so that later runs verify it offline.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from recsys.errors import InputError

GROUPLENS_BASE_URL = "https://files.grouplens.org/datasets/movielens"
MIRROR_ENV = "RECSYS_MOVIELENS_MIRROR"
BASE_URL_ENV = "RECSYS_MOVIELENS_BASE_URL"
_TIMEOUT_S = 60
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DatasetInfo:
    """One GroupLens archive."""

    name: str
    """Archive name without ``.zip``, e.g. ``ml-latest-small``."""
    folder: str
    """Top-level folder inside the zip that holds the data files."""
    sha256: str | None = None
    """Known sha256 of the original archive; ``None``: verify with GroupLens's ``.md5`` file."""

    @property
    def filename(self) -> str:
        return f"{self.name}.zip"

    @property
    def url(self) -> str:
        return f"{GROUPLENS_BASE_URL}/{self.filename}"


MOVIELENS_DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in (
        DatasetInfo(
            "ml-100k",
            "ml-100k",
            "fa403090d17671cfa6cdc53a2b8b2df64758ac4160b71d53d692fe5e961fd842",
        ),
        DatasetInfo("ml-1m", "ml-1m"),
        DatasetInfo(
            "ml-latest-small",
            "ml-latest-small",
            "41af8667c1910fed2beffb26053592028e596c71d08f5aa600e0c5950477f9ba",
        ),
        DatasetInfo("ml-25m", "ml-25m"),
        DatasetInfo("ml-32m", "ml-32m"),
    )
}


def dataset_info(name: str) -> DatasetInfo:
    """The archive called ``name``, or an :class:`InputError` listing the supported ones."""
    try:
        return MOVIELENS_DATASETS[name]
    except KeyError:
        raise InputError(
            f"unknown MovieLens dataset {name!r}; supported: {', '.join(MOVIELENS_DATASETS)}"
        ) from None


def fetch_movielens(
    name: str,
    cache_dir: str | Path,
    mirror: str | Path | None = None,
    base_url: str | None = None,
    progress: bool = True,
) -> Path:
    """Path of a verified local copy of MovieLens archive ``name`` (see the module docstring)."""
    info = dataset_info(name)
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
    if mirror is not None:
        found = _from_mirror(info, Path(mirror).expanduser())
        if found is not None:
            return found
    cache = Path(cache_dir).expanduser()
    cached = cache / info.filename
    if cached.is_file():
        if _cache_is_valid(info, cached):
            return cached
        print(f"{cached} fails its checksum; downloading it again", file=sys.stderr)
        cached.unlink()
    base = (base_url or os.environ.get(BASE_URL_ENV) or GROUPLENS_BASE_URL).rstrip("/")
    return _download(info, f"{base}/{info.filename}", cache, progress)


def _from_mirror(info: DatasetInfo, folder: Path) -> Path | None:
    if not folder.is_dir():
        raise InputError(
            f"MovieLens mirror {folder} is not a folder; point --mirror (or ${MIRROR_ENV}) "
            f"at a folder holding {info.filename}"
        )
    path = folder / info.filename
    if not path.is_file():
        return None
    md5_file = path.with_name(path.name + ".md5")
    if info.sha256:
        _check(path, "sha256", info.sha256)
    elif md5_file.is_file():
        _check(path, "md5", _parse_md5(md5_file.read_text(errors="replace"), md5_file))
    return path


def _cache_is_valid(info: DatasetInfo, path: Path) -> bool:
    if info.sha256:
        return _digest(path, "sha256") == info.sha256
    md5_file = path.with_name(path.name + ".md5")
    if not md5_file.is_file():  # cached by someone else without the checksum: fetch it again
        return False
    try:
        expected = _parse_md5(md5_file.read_text(errors="replace"), md5_file)
    except InputError:
        return False
    return _digest(path, "md5") == expected


def _download(info: DatasetInfo, url: str, cache: Path, progress: bool) -> Path:
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create the download cache {cache}: {e.strerror}") from None
    if info.sha256:
        algorithm, expected = "sha256", info.sha256
    else:
        algorithm = "md5"
        expected = _parse_md5(_read_url(url + ".md5").decode("utf-8", "replace"), url + ".md5")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{info.name}.", suffix=".part", dir=cache)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _stream(url, out, info.filename, progress, algorithm)
        if digest != expected:
            raise InputError(
                f"checksum mismatch for {url}: {algorithm} {digest}, expected {expected}; "
                f"the download was deleted. Retry, or use --mirror DIR with a good copy"
            )
        final = cache / info.filename
        if algorithm == "md5":
            _write_atomically(
                final.with_name(final.name + ".md5"), f"{expected}  {info.filename}\n"
            )
        os.replace(tmp, final)
        return final
    finally:
        tmp.unlink(missing_ok=True)


def _stream(url: str, out, label: str, progress: bool, algorithm: str) -> str:
    """Copy ``url`` into ``out`` with a progress bar on stderr; the hex digest of the bytes."""
    h = hashlib.new(algorithm)
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=label,
                file=sys.stderr,
                disable=not progress,
            ) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    h.update(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError) as e:
        raise _network_error(url, e) from None
    return h.hexdigest()


def _read_url(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
            return response.read()
    except (urllib.error.URLError, OSError) as e:
        raise _network_error(url, e) from None


def _network_error(url: str, error: Exception) -> InputError:
    reason = error if isinstance(error, urllib.error.HTTPError) else getattr(error, "reason", error)
    return InputError(
        f"cannot download {url}: {reason}; without network access pass --mirror DIR "
        f"(or set ${MIRROR_ENV}) to a folder holding the MovieLens zips"
    )


def _parse_md5(text: str, source: object) -> str:
    """The md5 in GroupLens's ``.md5`` files (``MD5 (x.zip) = <hex>`` or ``<hex>  x.zip``)."""
    match = re.search(r"\b[0-9a-fA-F]{32}\b", text)
    if match is None:
        raise InputError(f"{source} does not hold an md5 checksum")
    return match.group(0).lower()


def _digest(path: Path, algorithm: str) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


def _check(path: Path, algorithm: str, expected: str) -> None:
    """Mirror copies are the user's files: report a bad one, never delete it."""
    actual = _digest(path, algorithm)
    if actual != expected:
        raise InputError(
            f"{path} fails its checksum ({algorithm} {actual}, expected {expected}): "
            f"replace it with the original GroupLens archive"
        )


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
