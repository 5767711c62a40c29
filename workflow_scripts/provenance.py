from pathlib import Path

import pyarrow as pa

from mtaal.io import write_parquet, write_text
from mtaal.results.provenance import (
    benchmark_summary,
    collect_benchmarks,
    git_commit,
    package_versions,
    provenance_html,
    table_html,
)
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    write_text(
        provenance_html(
            dict(snakemake.config), git_commit(Path(snakemake.params.workflow_dir)), package_versions()
        ),
        snakemake.output.provenance,
    )
    benchmarks = collect_benchmarks(Path(snakemake.params.benchmarks_dir))
    write_parquet(pa.Table.from_pandas(benchmarks, preserve_index=False), snakemake.output.benchmarks)
    summary = table_html(benchmark_summary(benchmarks), "Time and memory per stage")
    detail = table_html(benchmarks, "Every job")
    write_text(
        summary.replace("</body></html>\n", "") + detail.split("<body>", 1)[1],
        snakemake.output.benchmarks_html,
    )
