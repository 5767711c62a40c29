"""Downloads: mirror copies, and real HTTP against a server on 127.0.0.1 started by the test.

Every network test uses a short timeout, two attempts and a tiny back-off, so each ends in well under
a few seconds whatever the fault.
"""

import hashlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mtaal.corpora.download import DownloadPolicy, download_corpus, fetch_corpus, resolve_mirror
from mtaal.corpora.registry import CorpusSpec, FileSpec
from mtaal.errors import ChecksumError, DownloadError, MissingCorpusError

CONTENT = b"10192393|t|A title.\n" * 5000  # ~100 kB: several chunks, so progress is reported more than once
DIGEST = hashlib.sha256(CONTENT).hexdigest()
FAST = DownloadPolicy(timeout_s=0.5, attempts=2, backoff_s=0.01)
DRIP = 20  # bytes a dripping server sends (20 s) before it closes: a test of the old code ends too


def corpus(sha256, url=None, manual="Register at the homepage."):
    return CorpusSpec(
        name="toy", title="Toy", homepage="https://example.org/toy", license="CC0", format="PubTator",
        reader="pubtator", files=(FileSpec("sub/a.txt", sha256, url),), manual=manual,
    )


@pytest.fixture
def mirror(tmp_path):
    (tmp_path / "mirror" / "toy" / "sub").mkdir(parents=True)
    (tmp_path / "mirror" / "toy" / "sub" / "a.txt").write_bytes(CONTENT)
    return tmp_path / "mirror"


class Server:
    """Routes: /ok, /missing (404), /truncated (half the declared body), /slow (no answer before release),
    /flaky (503 once, then /ok), /error500 (500 twice, then /ok), /drip and /drip-unsized (one byte a
    second, at most DRIP bytes, with and without a Content-Length). ``hits`` counts requests per path."""

    def __init__(self):
        self.hits: dict[str, int] = {}
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                if self.path == "/missing" or (self.path == "/flaky" and server.hits[self.path] == 1):
                    self.send_error(404 if self.path == "/missing" else 503)
                    return
                if self.path == "/error500" and server.hits[self.path] < 3:
                    self.send_error(500)
                    return
                if self.path == "/slow":
                    server.release.wait(10)
                if self.path.startswith("/drip"):
                    self.drip()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(CONTENT)))
                self.end_headers()
                body = CONTENT[: len(CONTENT) // 2] if self.path == "/truncated" else CONTENT
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True

            def drip(self):
                self.send_response(200)
                if self.path == "/drip":
                    self.send_header("Content-Length", str(len(CONTENT)))
                self.end_headers()
                self.close_connection = True
                try:
                    for byte in CONTENT[:DRIP]:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        if server.release.wait(1):
                            return
                except OSError:  # the client gave up
                    return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    running = Server()
    yield running
    running.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_copies_from_mirror_and_records_digest(tmp_path, mirror):
    status = download_corpus(corpus(DIGEST), tmp_path / "raw", mirror)
    assert (tmp_path / "raw" / "files" / "sub" / "a.txt").read_bytes() == CONTENT
    assert status["status"] == "ok" and status["files"][0]["sha256"] == DIGEST
    assert json.loads((tmp_path / "raw" / "download.json").read_text())["status"] == "ok"


def test_corrupted_mirror_file_fails_naming_file_and_digests_and_leaves_nothing(tmp_path, mirror):
    expected = "0" * 64
    with pytest.raises(ChecksumError) as error:
        download_corpus(corpus(expected), tmp_path / "raw", mirror)
    message = str(error.value)
    assert "toy/sub/a.txt" in message and expected in message
    assert DIGEST in message and "https://example.org/toy" in message
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").rglob("*"))


def test_a_corpus_without_automatic_source_is_skipped_with_reason_or_fails_by_policy(tmp_path):
    spec = corpus(DIGEST)  # no URL, not in the (empty) mirror: registration / manual download
    status = download_corpus(spec, tmp_path / "raw", mirror=tmp_path / "empty", on_missing="skip")
    assert status["status"] == "missing"
    assert "toy/sub/a.txt" in status["reason"] and "Register at the homepage." in status["reason"]
    with pytest.raises(MissingCorpusError, match="no download URL"):
        download_corpus(spec, tmp_path / "raw2", mirror=tmp_path / "empty", on_missing="fail")
    assert not (tmp_path / "raw2" / "download.json").exists()


def test_download_succeeds_reporting_progress(tmp_path, server):
    seen = []
    status = download_corpus(corpus(DIGEST, url=server.url("/ok")), tmp_path / "raw", None, policy=FAST,
                             progress=lambda done, total: seen.append((done, total)))
    assert status["status"] == "ok" and status["files"][0]["source"] == server.url("/ok")
    assert (tmp_path / "raw" / "files" / "sub" / "a.txt").read_bytes() == CONTENT
    assert len(seen) > 1 and seen[-1] == (len(CONTENT), len(CONTENT))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_a_transient_server_error_is_retried(tmp_path, server):
    records = fetch_corpus(corpus(DIGEST, url=server.url("/flaky")), tmp_path / "out", policy=FAST)
    assert records[0]["sha256"] == DIGEST and server.hits["/flaky"] == 2


@pytest.mark.parametrize(
    ("path", "expected", "attempts"),
    [
        ("/missing", r"answered 404", 1),  # permanent: not retried
        ("/truncated", r"after 2 attempt\(s\).*truncated body", 2),
        ("/slow", r"after 2 attempt\(s\).*(?i:timed? ?out)", 2),
    ],
    ids=["404", "truncated", "slower-than-timeout"],
)
def test_failed_download_is_an_error_not_missing_and_leaves_nothing(tmp_path, server, path, expected,
                                                                    attempts):
    url = server.url(path)
    with pytest.raises(DownloadError, match=expected) as error:
        download_corpus(corpus(DIGEST, url=url), tmp_path / "raw", None, on_missing="skip", policy=FAST)
    message = str(error.value)
    assert "toy/sub/a.txt" in message and url in message and "What to do" in message
    # a 404 will not change by trying again: the registry's URL or a mirror copy will
    assert ("correct its URL in the registry" in message) == (path == "/missing")
    assert ("run the download again" in message) == (path != "/missing")
    assert server.hits[path] == attempts
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").rglob("*"))


@pytest.mark.parametrize("path", ["/drip", "/drip-unsized"])
def test_a_server_that_drips_one_byte_a_second_fails_at_the_files_deadline(tmp_path, server, path):
    import time

    # each read gets a byte within timeout_s (3 s against a byte a second: a loaded host still answers in
    # time): only the whole-file deadline ends it
    policy = DownloadPolicy(timeout_s=3, attempts=2, backoff_s=0.01, min_bytes_per_s=1000)
    started = time.monotonic()
    slow = r"after 2 attempt\(s\).*too slow: \d+ of (\d+|\?) bytes after \d+ s, under the floor of "
    with pytest.raises(DownloadError, match=slow + "downloads.min_bytes_per_s = 1000") as error:
        download_corpus(corpus(DIGEST, url=server.url(path)), tmp_path / "raw", None, policy=policy)
    assert time.monotonic() - started < 15  # ~4 s an attempt (the old code: 20 s each, then "truncated")
    # with its size known, the deadline of the whole file: 3 s + 100,000 bytes / 1000 bytes/s
    assert ("the whole file was due within 103 s" in str(error.value)) == (path == "/drip")
    assert server.hits[path] == 2
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").rglob("*"))


def test_connection_refused_is_an_error_naming_the_url(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/a.txt"
    with pytest.raises(DownloadError, match=r"after 2 attempt\(s\).*ConnectionError") as error:
        download_corpus(corpus(DIGEST, url=url), tmp_path / "raw", None, on_missing="skip", policy=FAST)
    assert url in str(error.value)
    assert not (tmp_path / "raw" / "download.json").exists()


def test_wrong_digest_from_url_fails_and_keeps_the_previous_copy(tmp_path, server, mirror):
    download_corpus(corpus(DIGEST), tmp_path / "raw", mirror)
    with pytest.raises(ChecksumError, match=rf"expected {'1' * 64}, got {DIGEST}"):
        download_corpus(corpus("1" * 64, url=server.url("/ok")), tmp_path / "raw", None, policy=FAST)
    # the verified copy and its record are untouched, and no staging directory is left
    assert (tmp_path / "raw" / "files" / "sub" / "a.txt").read_bytes() == CONTENT
    assert json.loads((tmp_path / "raw" / "download.json").read_text())["status"] == "ok"
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == ["download.json", "files"]


def test_unpinned_file_is_missing_unless_allowed(tmp_path, mirror, server):
    with pytest.raises(MissingCorpusError, match="pins no sha256"):
        fetch_corpus(corpus(None, url=server.url("/ok")), tmp_path / "out", mirror, policy=FAST)
    assert server.hits == {}  # decided before any network access
    assert fetch_corpus(corpus(None), tmp_path / "out", mirror, allow_unpinned=True)[0]["sha256"] == DIGEST


def test_mirror_comes_from_config_then_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MTAAL_CORPUS_MIRROR", str(tmp_path / "env"))
    assert resolve_mirror(str(tmp_path / "cfg")) == tmp_path / "cfg"
    assert resolve_mirror(None) == tmp_path / "env"
    monkeypatch.delenv("MTAAL_CORPUS_MIRROR")
    assert resolve_mirror(None) is None


def test_a_500_is_retried_with_the_policys_back_off(tmp_path, server):
    import time

    policy = DownloadPolicy(timeout_s=0.5, attempts=3, backoff_s=0.2)
    started = time.monotonic()
    records = fetch_corpus(corpus(DIGEST, url=server.url("/error500")), tmp_path / "out", policy=policy)
    assert records[0]["sha256"] == DIGEST and server.hits["/error500"] == 3  # 500, 500, then the file
    # backoff_s, then twice that: the config's back-off, not pooch's fixed 1 s, 2 s, ...
    assert 0.6 <= time.monotonic() - started < 3


def test_downloads_go_through_pooch_with_the_pinned_digest(tmp_path, server, monkeypatch):
    import pooch

    calls = []
    retrieve = pooch.retrieve

    def spy(url, known_hash=None, **kwargs):
        calls.append((url, known_hash))
        return retrieve(url, known_hash, **kwargs)

    monkeypatch.setattr(pooch, "retrieve", spy)
    fetch_corpus(corpus(DIGEST, url=server.url("/ok")), tmp_path / "out", policy=FAST)
    fetch_corpus(corpus(None, url=server.url("/ok")), tmp_path / "out2", allow_unpinned=True, policy=FAST)
    assert calls == [(server.url("/ok"), f"sha256:{DIGEST}"), (server.url("/ok"), None)]


def test_a_wrong_digest_from_the_url_is_not_retried_and_leaves_no_temporary(tmp_path, server):
    with pytest.raises(ChecksumError) as error:
        fetch_corpus(corpus("2" * 64, url=server.url("/ok")), tmp_path / "out", policy=FAST)
    message = str(error.value)
    assert message.startswith("toy/sub/a.txt: sha256 mismatch (from http://127.0.0.1:")
    assert f"expected {'2' * 64}, got {DIGEST}" in message and "Get an intact copy from" in message
    assert server.hits["/ok"] == 1
    assert list(tmp_path.iterdir()) == []  # no staging folder, no pooch temporary


def test_a_killed_downloads_staging_folder_is_removed_by_the_next_download(tmp_path, server):
    import socket
    import subprocess

    from mtaal.corpora.download import download

    gone = subprocess.Popen(["true"])
    gone.wait()  # a process id that no longer runs: the writer that was killed
    host = "".join(c if c.isalnum() or c == "_" else "_" for c in socket.gethostname())
    left = tmp_path / f".a.txt.{host}-{gone.pid}.x1y2z3.part"
    left.mkdir()
    (left / "tmpabcdef").write_bytes(CONTENT[:1000])  # pooch's temporary, cut short by the kill
    assert download(server.url("/ok"), tmp_path / "a.txt", FAST, sha256=DIGEST) == DIGEST
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
