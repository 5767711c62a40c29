from pathlib import Path

from mtaal.embeddings import embedding_name, write_coverage
from mtaal.workflow import rule_logging

# Names come from the paths: results/embeddings/<embedding>.safetensors,
# results/corpora/<dataset>/tokens.parquet.
with rule_logging(snakemake.log):
    write_coverage(
        {embedding_name(path): Path(path) for path in snakemake.input.embeddings},
        {Path(path).parent.name: Path(path) for path in snakemake.input.tokens},
        Path(snakemake.output.coverage),
        Path(snakemake.output.coverage_md),
    )
