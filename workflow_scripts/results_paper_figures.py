from pathlib import Path

import pyarrow as pa

from mtaal.io import write_parquet
from mtaal.results.paper_figures import fig5_figure, fig5_table, fig6_figure, fig6_table
from mtaal.results.store import read_store
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    out = snakemake.output
    store = read_store(Path(snakemake.input.store))
    caption = f"tier {snakemake.params.tier}, encoder {snakemake.params.encoder}"
    fig5, fig6 = fig5_table(store), fig6_table(store)
    write_parquet(pa.Table.from_pandas(fig5, preserve_index=False), out.fig5)
    write_parquet(pa.Table.from_pandas(fig6, preserve_index=False), out.fig6)
    fig5_figure(fig5, [Path(out.fig5_png), Path(out.fig5_svg)], caption)
    fig6_figure(fig6, [Path(out.fig6_png), Path(out.fig6_svg)], caption)
