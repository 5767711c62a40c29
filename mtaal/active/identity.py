"""Who an MTAAL run is, by name: the id of its store file (the rule's plan names its runs by it, so this
module stays free of heavy imports)."""

from __future__ import annotations


def mtaal_run_id(dataset: str, embedding: str, variant: str, seed: int) -> str:
    """The store file name of one MTAAL run."""
    return f"{dataset}__{embedding}__{variant}__seed{seed}"
