"""Active learning on a curator's own corpus: ``mtaal init / add-text / add-labels / train / query / status``.

A project is a folder (:mod:`mtaal.curate.project`): sentences and labels as parquet parts, a YAML config,
versioned models (safetensors + JSON) and an append-only JSONL manifest. Training and querying reuse the
workflow's MTAAL code (:mod:`mtaal.active`), so a project fed the gold labels selects what the workflow's
simulated run selects (:mod:`mtaal.curate.learn`).
"""
