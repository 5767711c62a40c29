"""The download rule through Snakemake: a download that fails fails the job and leaves nothing behind."""

import socket

import yaml

from tests.workflow_helpers import copy_workflow, snakemake


def test_a_failed_download_fails_the_job_and_a_later_run_tries_again(tmp_path):
    workdir = copy_workflow(tmp_path / "workflow")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    registry = yaml.safe_load((workdir / "config/corpora.yaml").read_text())
    entry = registry["corpora"]["ncbi_disease"]
    entry["files"] = "".join(f"{path} {digest} http://127.0.0.1:{port}/{path}\n"
                             for path, digest, _ in map(str.split, entry["files"].splitlines()))
    (workdir / "offline_corpora.yaml").write_text(yaml.safe_dump(registry))
    (workdir / "offline.yaml").write_text(yaml.safe_dump({
        "corpus_registry": "offline_corpora.yaml",
        "downloads": {"timeout_s": 1, "attempts": 2, "backoff_s": 0.01},
    }))
    target = "results/raw/ncbi_disease/download.json"
    failed = snakemake(workdir, target, "--configfile", "offline.yaml", check=False,
                       env={"MTAAL_CORPUS_MIRROR": ""})
    assert failed.returncode != 0
    log = (workdir / "results/logs/download/ncbi_disease.log").read_text()
    assert f"http://127.0.0.1:{port}/LICENSE failed after 2 attempt(s)" in log and "What to do" in log
    assert not (workdir / "results/raw/ncbi_disease").exists() or not any(
        (workdir / "results/raw/ncbi_disease").iterdir())
    # nothing was recorded as missing: the next run plans the download again
    again = snakemake(workdir, "-n", target, "--configfile", "offline.yaml", env={"MTAAL_CORPUS_MIRROR": ""})
    assert "rule download:" in again.stdout
