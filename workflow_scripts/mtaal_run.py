from pathlib import Path

from mtaal.active.experiment import experiment_settings, run_experiment
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    settings = experiment_settings(
        snakemake.wildcards.dataset,
        snakemake.wildcards.embedding,
        snakemake.params.variant,
        snakemake.params.study,
        snakemake.params.model,
        int(snakemake.wildcards.seed),
    )
    run_experiment(
        settings,
        Path(snakemake.input.tokens).parent,
        Path(snakemake.input.vectors),
        Path(snakemake.output.rounds),
        Path(snakemake.params.checkpoint),
        progress=False,
        threads=snakemake.threads,
        identity=snakemake.params.identity,
    )
