from pathlib import Path

from mtaal.results.paper_figures import write_paper_figures
from mtaal.results.store import read_store
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    out = snakemake.output
    write_paper_figures(read_store(snakemake.input.store), Path(out.fig5),
                        [Path(out.fig5_png), Path(out.fig5_svg)], Path(out.fig6),
                        [Path(out.fig6_png), Path(out.fig6_svg)],
                        f"tier {snakemake.params.tier}, encoder {snakemake.params.encoder}")
