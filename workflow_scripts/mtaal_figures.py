from pathlib import Path

import pandas as pd

from mtaal.active.report import write_figures
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    write_figures(pd.read_parquet(snakemake.input.rounds), Path(snakemake.output.png[0]).parent)
