from pathlib import Path

from mtaal.embeddings import train_word2vec
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    settings = snakemake.params.settings
    train_word2vec(
        [Path(path) for path in snakemake.input.tokens],
        Path(snakemake.output.kv),
        dim=settings["dim"],
        window=settings["window"],
        min_count=settings["min_count"],
        epochs=settings["epochs"],
        seed=settings["seed"],
        workers=1,
        sg=settings["sg"],
        lowercase=settings["lowercase"],
        splits=settings["splits"],
    )
