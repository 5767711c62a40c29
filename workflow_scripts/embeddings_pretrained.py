from pathlib import Path

import pandas as pd

from mtaal.corpora.download import resolve_mirror
from mtaal.embeddings import fetch_pretrained_vectors
from mtaal.io import write_json
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    words = set()
    for path in snakemake.input.tokens:
        words.update(pd.read_parquet(path, columns=["token"])["token"].unique())
    record = fetch_pretrained_vectors(
        snakemake.params.spec,
        Path(snakemake.params.raw_dir),
        Path(snakemake.output.kv),
        words,
        mirror=resolve_mirror(snakemake.params.mirror),
        allow_unpinned=snakemake.params.allow_unpinned,
    )
    write_json(record, snakemake.output.record)
