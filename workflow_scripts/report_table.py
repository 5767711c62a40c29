from pathlib import Path

from mtaal.results.provenance import write_table_page
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    write_table_page(Path(snakemake.params.table), snakemake.params.title, Path(snakemake.output.html))
