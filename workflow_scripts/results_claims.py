from pathlib import Path

import pandas as pd
import pyarrow as pa

from mtaal.io import write_parquet, write_text
from mtaal.results.claims import Context, claims_markdown, judge_claims
from mtaal.results.compare import load_reported
from mtaal.results.store import read_store
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    report = Path(snakemake.input.multitask_report)
    context = Context(
        store=read_store(Path(snakemake.input.store)),
        report_after_round=snakemake.params.report_after_round,
        diversity=pd.read_parquet(snakemake.input.diversity),
        fig4_points=pd.read_parquet(report / "fig4_stl_correlation.parquet"),
        alpha=snakemake.params.alpha,
        margin=snakemake.params.margin,
        correlation_margin=snakemake.params.correlation_margin,
        multitask_report=str(report),
    )
    reported = load_reported([Path(p) for p in snakemake.input.reported])
    claims = judge_claims(context, reported, snakemake.params.tier)
    write_parquet(pa.Table.from_pandas(claims, preserve_index=False), snakemake.output.claims)
    write_text(claims_markdown(claims), snakemake.output.claims_md)
