"""MovieLens download, cache and mirror, against a local HTTP server on 127.0.0.1 (never the
internet): the served archive is a small zip built in tmp_path with its GroupLens-style .md5."""

from __future__ import annotations

import hashlib
import http.server
import threading
import zipfile
from pathlib import Path

import pytest

from recsys.errors import InputError
from recsys.ingest import download
from recsys.ingest.download import MOVIELENS_DATASETS, fetch_movielens

NAME = "ml-1m"  # no sha256 pinned: verified with the served .md5, like GroupLens's own files


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(download.MIRROR_ENV, raising=False)
    monkeypatch.delenv(download.BASE_URL_ENV, raising=False)


def _zip(path: Path, text: str = "1::1193::5::978300760\n") -> bytes:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{NAME}/ratings.dat", text)
    return path.read_bytes()


class _Server:
    """Serves ``files`` (URL path -> bytes) and records every requested path."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/movielens"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):  # idempotent
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def archive(tmp_path) -> bytes:
    return _zip(tmp_path / "served.zip")


@pytest.fixture
def server(archive):
    md5 = hashlib.md5(archive).hexdigest()
    srv = _Server(
        {
            f"/movielens/{NAME}.zip": archive,
            f"/movielens/{NAME}.zip.md5": f"{md5}  {NAME}.zip\n".encode(),
        }
    )
    yield srv
    srv.close()


def test_registry_lists_grouplens_archives():
    assert set(MOVIELENS_DATASETS) == {"ml-100k", "ml-1m", "ml-latest-small", "ml-25m", "ml-32m"}
    info = MOVIELENS_DATASETS["ml-latest-small"]
    assert info.url == "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip"
    assert info.folder == "ml-latest-small"
    assert MOVIELENS_DATASETS["ml-100k"].sha256.startswith("fa403090")


def test_download_then_cache_hit(server, archive, tmp_path):
    cache = tmp_path / "cache"
    path = fetch_movielens(NAME, cache, base_url=server.url, progress=False)
    assert path == cache / f"{NAME}.zip"
    assert path.read_bytes() == archive
    assert sorted(server.requests) == [f"/movielens/{NAME}.zip", f"/movielens/{NAME}.zip.md5"]
    assert sorted(p.name for p in cache.iterdir()) == [f"{NAME}.zip", f"{NAME}.zip.md5"]

    again = fetch_movielens(NAME, cache, base_url=server.url, progress=False)
    assert again == path
    assert len(server.requests) == 2  # verified offline against the kept .md5


def test_base_url_from_environment(server, tmp_path, monkeypatch):
    monkeypatch.setenv(download.BASE_URL_ENV, server.url)
    path = fetch_movielens(NAME, tmp_path / "cache", progress=False)
    assert path.is_file()
    assert f"/movielens/{NAME}.zip" in server.requests


def test_checksum_mismatch_raises_and_leaves_nothing(server, tmp_path):
    server.files[f"/movielens/{NAME}.zip.md5"] = b"0" * 32 + f"  {NAME}.zip\n".encode()
    cache = tmp_path / "cache"
    with pytest.raises(InputError, match="checksum mismatch"):
        fetch_movielens(NAME, cache, base_url=server.url, progress=False)
    assert list(cache.iterdir()) == []


def test_known_sha256_is_enforced(tmp_path):
    """ml-100k's sha256 is pinned: a different archive served under its name is refused."""
    srv = _Server({"/movielens/ml-100k.zip": _zip(tmp_path / "fake.zip")})
    try:
        with pytest.raises(InputError, match="sha256"):
            fetch_movielens("ml-100k", tmp_path / "cache", base_url=srv.url, progress=False)
    finally:
        srv.close()
    assert srv.requests == ["/movielens/ml-100k.zip"]  # no .md5 needed
    assert list((tmp_path / "cache").iterdir()) == []


def test_corrupt_cached_copy_is_downloaded_again(server, archive, tmp_path):
    cache = tmp_path / "cache"
    fetch_movielens(NAME, cache, base_url=server.url, progress=False)
    (cache / f"{NAME}.zip").write_bytes(b"truncated")
    path = fetch_movielens(NAME, cache, base_url=server.url, progress=False)
    assert path.read_bytes() == archive
    assert len(server.requests) == 4


def test_mirror_takes_precedence(server, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    local = _zip(mirror / f"{NAME}.zip", "2::1::4::978300761\n")
    cache = tmp_path / "cache"
    path = fetch_movielens(NAME, cache, mirror=mirror, base_url=server.url, progress=False)
    assert path == mirror / f"{NAME}.zip" and path.read_bytes() == local
    monkeypatch.setenv(download.MIRROR_ENV, str(mirror))
    assert fetch_movielens(NAME, cache, base_url=server.url, progress=False) == path
    assert server.requests == []
    assert not cache.exists()


def test_mirror_with_a_bad_md5_is_refused_and_kept(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _zip(mirror / f"{NAME}.zip")
    (mirror / f"{NAME}.zip.md5").write_text("f" * 32)
    with pytest.raises(InputError, match="fails its checksum"):
        fetch_movielens(NAME, tmp_path / "cache", mirror=mirror, progress=False)
    assert (mirror / f"{NAME}.zip").is_file()


def test_mirror_without_the_archive_falls_back_to_download(server, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    path = fetch_movielens(NAME, tmp_path / "cache", mirror=mirror, base_url=server.url,
                           progress=False)  # fmt: skip
    assert path.parent == tmp_path / "cache"


def test_missing_mirror_folder_is_an_error(tmp_path):
    with pytest.raises(InputError, match="not a folder"):
        fetch_movielens(NAME, tmp_path / "cache", mirror=tmp_path / "nope", progress=False)


def test_unknown_name_lists_supported(tmp_path):
    with pytest.raises(InputError, match=r"unknown MovieLens dataset 'ml-7m'.*ml-100k.*ml-32m"):
        fetch_movielens("ml-7m", tmp_path)


def test_network_error_suggests_mirror(server, tmp_path):
    server.close()  # nothing listens on that port any more
    with pytest.raises(InputError, match="--mirror"):
        fetch_movielens(NAME, tmp_path / "cache", base_url=server.url, progress=False)


def test_http_404_suggests_mirror(server, tmp_path):
    with pytest.raises(InputError, match=r"404.*--mirror"):
        fetch_movielens("ml-32m", tmp_path / "cache", base_url=server.url, progress=False)
    assert list((tmp_path / "cache").iterdir()) == []
