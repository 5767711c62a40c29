from pathlib import Path

from mtaal.corpora.build import build_dataset
from mtaal.corpora.registry import load_registry
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    build_dataset(
        load_registry(snakemake.config["corpus_registry"]),
        snakemake.wildcards.dataset,
        corpus_dir=Path(snakemake.input.corpus).parent,
        splits_dir=Path(snakemake.input.splits),
        patches_dir=Path(snakemake.input.patches) if snakemake.params.apply_patches else None,
        out_dir=Path(snakemake.output.summary).parent,
        max_documents_per_split=snakemake.params.max_documents_per_split,
    )
