from pathlib import Path

from mtaal.results.provenance import write_provenance
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    out = snakemake.output
    write_provenance(dict(snakemake.config), Path(snakemake.params.workflow_dir),
                     Path(snakemake.params.benchmarks_dir), Path(out.provenance), Path(out.benchmarks),
                     Path(out.benchmarks_html))
