import pandas as pd

from mtaal.io import write_text
from mtaal.results.provenance import table_html
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    write_text(
        table_html(pd.read_parquet(snakemake.params.table), snakemake.params.title), snakemake.output.html
    )
