from pathlib import Path

import pyarrow as pa

from mtaal.io import write_parquet
from mtaal.results.figures import annotation_curves, annotation_figure
from mtaal.results.store import read_store
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    points = annotation_curves(read_store(Path(snakemake.input.store)), snakemake.params.shared)
    write_parquet(pa.Table.from_pandas(points, preserve_index=False), snakemake.output.points)
    annotation_figure(points, [Path(snakemake.output.png), Path(snakemake.output.svg)], snakemake.params.tier)
