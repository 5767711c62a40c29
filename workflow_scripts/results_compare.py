from pathlib import Path

import pandas as pd
import pyarrow as pa

from mtaal.io import write_parquet, write_text
from mtaal.results.compare import compare, comparison_markdown, load_reported, reproduced_cells
from mtaal.results.store import read_store
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    cells = reproduced_cells(
        read_store(Path(snakemake.input.store)),
        snakemake.params.report_after_round,
        pd.read_parquet(snakemake.input.diversity),
    )
    table = compare(cells, load_reported([Path(p) for p in snakemake.input.reported]), snakemake.params.tier)
    write_parquet(pa.Table.from_pandas(table, preserve_index=False), snakemake.output.comparison)
    write_text(comparison_markdown(table, "mtaal", "MTAAL (Zhou et al. 2021)"), snakemake.output.mtaal_md)
    write_text(
        comparison_markdown(table, "multitask", "Multitask NER (Rodriguez et al. 2022)"),
        snakemake.output.multitask_md,
    )
