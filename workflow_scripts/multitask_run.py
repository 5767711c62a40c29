from pathlib import Path

from mtaal.multitask.experiment import run_multitask
from mtaal.workflow import rule_logging

# One adapter for the four training rules: the inputs name each task's wordpiece and tokens tables.
with rule_logging(snakemake.log):
    tasks = {
        name.removeprefix("wp_"): (Path(path), Path(snakemake.input[f"tokens_{name.removeprefix('wp_')}"]))
        for name, path in snakemake.input.items()
        if name.startswith("wp_")
    }
    init_encoder = snakemake.input.get("init_encoder")
    run_multitask(
        tasks,
        {**snakemake.params.training, "num_threads": snakemake.threads},  # no oversubscribed cores
        snakemake.params.encoder_spec,
        Path(snakemake.output.best).parent,
        identity=snakemake.params.identity,
        seed=int(snakemake.wildcards.seed),
        ablation_fraction=float(snakemake.wildcards.fraction),
        max_train_sequences=snakemake.params.max_train_sequences,
        max_eval_sequences=snakemake.params.max_eval_sequences,
        max_train_subwords=snakemake.params.get("max_train_subwords"),
        init_encoder=Path(init_encoder) if init_encoder else None,
        save_encoder=snakemake.params.save_encoder,
        encoder_revision=snakemake.params.get("encoder_revision"),
        checkpoint_path=Path(checkpoint) if (checkpoint := snakemake.params.get("checkpoint")) else None,
    )
