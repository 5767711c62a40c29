from pathlib import Path

from mtaal.results.claims import write_claims
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    params = snakemake.params
    write_claims(
        list(snakemake.input.store),
        Path(snakemake.input.diversity),
        Path(snakemake.input.multitask_report),
        [Path(path) for path in snakemake.input.reported],
        {"report_after_round": params.report_after_round, "alpha": params.alpha, "margin": params.margin,
         "correlation_margin": params.correlation_margin},
        params.tier,
        Path(snakemake.output.claims),
        Path(snakemake.output.claims_md),
    )
