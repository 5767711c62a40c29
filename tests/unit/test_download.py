import hashlib
import json

import pytest

from mtaal.corpora.download import download_corpus, fetch_corpus, resolve_mirror
from mtaal.corpora.registry import CorpusSpec, FileSpec
from mtaal.errors import ChecksumError, MissingCorpusError

CONTENT = b"10192393|t|A title.\n"


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


def test_copies_from_mirror_and_records_digest(tmp_path, mirror):
    digest = hashlib.sha256(CONTENT).hexdigest()
    status = download_corpus(corpus(digest), tmp_path / "raw", mirror)
    assert (tmp_path / "raw" / "files" / "sub" / "a.txt").read_bytes() == CONTENT
    assert status["status"] == "ok" and status["files"][0]["sha256"] == digest
    assert json.loads((tmp_path / "raw" / "download.json").read_text())["status"] == "ok"


def test_corrupted_mirror_file_fails_naming_file_and_digests_and_leaves_nothing(tmp_path, mirror):
    expected = "0" * 64
    with pytest.raises(ChecksumError) as error:
        download_corpus(corpus(expected), tmp_path / "raw", mirror)
    message = str(error.value)
    assert "toy/sub/a.txt" in message and expected in message
    assert hashlib.sha256(CONTENT).hexdigest() in message and "https://example.org/toy" in message
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").rglob("*"))


def test_missing_corpus_is_skipped_with_reason_or_fails_by_policy(tmp_path):
    spec = corpus("0" * 64)
    status = download_corpus(spec, tmp_path / "raw", mirror=tmp_path / "empty", on_missing="skip")
    assert status["status"] == "missing"
    assert "toy/sub/a.txt" in status["reason"] and "Register at the homepage." in status["reason"]
    with pytest.raises(MissingCorpusError, match="no download URL"):
        download_corpus(spec, tmp_path / "raw2", mirror=tmp_path / "empty", on_missing="fail")
    assert not (tmp_path / "raw2" / "download.json").exists()


def test_downloads_from_url_when_no_mirror(tmp_path):
    source = tmp_path / "remote.txt"
    source.write_bytes(CONTENT)
    records = fetch_corpus(corpus(hashlib.sha256(CONTENT).hexdigest(), url=source.as_uri()), tmp_path / "out")
    assert records[0]["source"] == source.as_uri()
    assert (tmp_path / "out" / "sub" / "a.txt").read_bytes() == CONTENT


def test_unpinned_file_is_refused_unless_allowed(tmp_path, mirror):
    with pytest.raises(ChecksumError, match="pins no sha256"):
        fetch_corpus(corpus(None), tmp_path / "out", mirror)
    assert fetch_corpus(corpus(None), tmp_path / "out", mirror, allow_unpinned=True)[0]["sha256"]


def test_mirror_comes_from_config_then_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MTAAL_CORPUS_MIRROR", str(tmp_path / "env"))
    assert resolve_mirror(str(tmp_path / "cfg")) == tmp_path / "cfg"
    assert resolve_mirror(None) == tmp_path / "env"
    monkeypatch.delenv("MTAAL_CORPUS_MIRROR")
    assert resolve_mirror(None) is None
