"""A study of the config (``mtaal.curves``, ``mtaal.diversity``) as one run's loop settings. The rules call
this while they plan, so it stays free of heavy imports; the run's own settings from it:
:mod:`mtaal.active.experiment`."""

from __future__ import annotations

from collections.abc import Mapping

from mtaal.errors import ConfigError


def query_size_for(query_size: int | Mapping[str, int], dataset: str) -> int:
    """A study's ``query_size`` for ``dataset``: the number itself, or its entry in a {dataset: n} map."""
    if isinstance(query_size, Mapping):
        if dataset not in query_size:
            raise ConfigError(f"mtaal query_size has no entry for dataset {dataset!r} (has: "
                              f"{', '.join(sorted(query_size))})")
        return int(query_size[dataset])
    return int(query_size)


def study_for(study: Mapping, dataset: str) -> dict:
    """A study's loop settings (less the run choices, :data:`RUN_CHOICE_KEYS`) with ``query_size``
    resolved for ``dataset``."""
    settings = {key: value for key, value in study.items() if key not in RUN_CHOICE_KEYS}
    return {**settings, "query_size": query_size_for(study["query_size"], dataset)}


# A study's keys that choose which runs exist (not how one runs: adding a seed must not rerun the others).
RUN_CHOICE_KEYS = ("seeds", "variants", "variant_seeds", "variant_embeddings")
