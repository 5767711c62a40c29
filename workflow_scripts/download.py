from pathlib import Path

from mtaal.corpora.download import DownloadPolicy, download_corpus, resolve_mirror
from mtaal.corpora.registry import load_registry
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    registry = load_registry(snakemake.config["corpus_registry"])
    download_corpus(
        registry.corpus(snakemake.wildcards.corpus),
        Path(snakemake.output.status).parent,
        resolve_mirror(snakemake.params.mirror),
        on_missing=snakemake.params.on_missing,
        allow_unpinned=snakemake.params.allow_unpinned,
        policy=DownloadPolicy.from_config(snakemake.config["downloads"]),  # not a param: no rerun
        progressbar=False,  # a job's log gets one line per file
    )
