from pathlib import Path

from mtaal.corpora.download import DownloadPolicy, resolve_mirror
from mtaal.embeddings import write_pretrained_vectors
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    write_pretrained_vectors(
        snakemake.params.spec,
        Path(snakemake.params.raw_dir),
        [Path(path) for path in snakemake.input.tokens],
        Path(snakemake.output.vectors),
        Path(snakemake.output.record),
        mirror=resolve_mirror(snakemake.params.mirror),
        allow_unpinned=snakemake.params.allow_unpinned,
        policy=DownloadPolicy.from_config(snakemake.config["downloads"]),  # not a param: no rerun
    )
