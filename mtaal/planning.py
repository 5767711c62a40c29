"""The runs a config plans, as the rules and the CLI name them: each MTAAL study's runs in the order a tier
wants them (:func:`mtaal_run_plan`), every transformer run (:func:`planned_multitask_runs`), and their paths.
Snakemake calls these while it plans, so this module stays free of heavy imports."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mtaal.active.identity import mtaal_run_id


def study_runs(mtaal: Mapping, study: str) -> dict[str, list[int]]:
    """The runs of a study, variant -> seeds: the study's ``variants`` (default: the ``mtaal.variants``
    without ``model`` switches), each with its ``variant_seeds`` entry, else the study's ``seeds``, else
    ``mtaal.seeds``."""
    settings = mtaal[study]
    # Unnamed, a study runs the papers' variants: those that switch model settings run only when named.
    variants = settings.get("variants") or [name for name, spec in mtaal["variants"].items()
                                             if not spec.get("model")]
    seeds = settings.get("seeds") or mtaal["seeds"]
    per_variant = settings.get("variant_seeds") or {}
    return {variant: list(per_variant.get(variant, seeds)) for variant in variants}


MTAAL_RUN = "{root}/mtaal/{study}/{dataset}/{embedding}/{variant}/seed{seed}/rounds.parquet"
MTAAL_BENCHMARK = "{root}/benchmarks/mtaal/{study}/{dataset}/{embedding}/{variant}/seed{seed}.tsv"
MULTITASK_RUN = "{root}/multitask/{encoder}/{experiment}/{group}/ablation{fraction}/seed{seed}"
MULTITASK_CHECKPOINT = "checkpoint.safetensors"  # a transformer run's epoch checkpoint file


def checkpoint_location(config: Mapping, relative: str, results: str | Path = "results") -> str:
    """Where a resumable run keeps its checkpoint: ``results/<relative>``, or with ``checkpoint_dir`` set,
    ``<checkpoint_dir>/<tier>/<relative>``, outside the work tree (the tier keeps two tiers' runs of one
    name apart: a checkpoint from other settings would be refused)."""
    root = config.get("checkpoint_dir")
    if not root:
        return str(Path(results) / relative)
    return str(Path(os.path.expandvars(os.path.expanduser(root))) / config["tier"] / relative)


def multitask_checkpoint(config: Mapping, encoder: str, experiment: str, group: str, fraction: str,
                         seed: int, results: str | Path = "results") -> str:
    """Where a transformer run keeps its epoch checkpoint (:func:`checkpoint_location`): the rules pass
    it to the run, ``mtaal record progress`` reads it."""
    run = MULTITASK_RUN.format(root="", encoder=encoder, experiment=experiment, group=group,
                               fraction=fraction, seed=seed).lstrip("/")
    return checkpoint_location(config, f"{run}/{MULTITASK_CHECKPOINT}", results)


@dataclass(frozen=True)
class MtaalRun:
    """One active-learning run of a study (rule ``mtaal_run``)."""

    study: str
    dataset: str
    embedding: str
    variant: str
    seed: int

    @property
    def run_id(self) -> str:
        return mtaal_run_id(self.dataset, self.embedding, self.variant, self.seed)

    def _path(self, template: str, root: str | Path) -> Path:
        return Path(template.format(root=root, study=self.study, dataset=self.dataset,
                                    embedding=self.embedding, variant=self.variant, seed=self.seed))

    def rounds_path(self, root: str | Path = "results") -> Path:
        return self._path(MTAAL_RUN, root)

    def benchmark_path(self, root: str | Path = "results") -> Path:
        return self._path(MTAAL_BENCHMARK, root)


def mtaal_run_plan(mtaal: Mapping, study: str) -> list[MtaalRun]:
    """A study's runs (config ``mtaal``), most wanted first, so that a tier cut off anywhere (a record, a
    scheduler) holds the most of a table: the repeated variants (those with ``variant_seeds``: the main
    comparison) at their first seed, then at their further seeds, then the others by seed; within each, the
    tier's variant, dataset and embedding order. Every dataset x embedding (the diversity study: the first
    embedding only; a variant named in ``variant_embeddings``: those of its embeddings) x variant x seed."""
    embeddings = mtaal["embeddings"] if study == "curves" else mtaal["embeddings"][:1]
    repeated = set(mtaal[study].get("variant_seeds") or {})
    per_variant = mtaal[study].get("variant_embeddings") or {}
    ranked = [((variant not in repeated, rank), MtaalRun(study, dataset, embedding, variant, int(seed)))
              for variant, seeds in study_runs(mtaal, study).items() for rank, seed in enumerate(seeds)
              for dataset in mtaal["datasets"]
              for embedding in embeddings if embedding in per_variant.get(variant, embeddings)]
    return [run for _, run in sorted(ranked, key=lambda item: item[0])]  # stable: tier order kept


def planned_mtaal_runs(mtaal: Mapping, study: str, root: str = "results") -> list[str]:
    """The rounds files of :func:`mtaal_run_plan`, in its order."""
    return [str(run.rounds_path(root)) for run in mtaal_run_plan(mtaal, study)]


def huner_tasks(config: Mapping, registry) -> list[str]:
    """The config's datasets that are HUNER tasks (the multitask paper's), in config order."""
    return [name for name in config["datasets"] if registry.dataset(name).paper == "huner"]


def task_entity(registry, task: str) -> str:
    """A task's entity type in the corpus registry (the group its MTL-without and fine-tune runs are in)."""
    return registry.dataset(task).entity_type


def planned_multitask_runs(config: Mapping, registry, encoder: str | None = None,
                           root: str = "results") -> list[str]:
    """The ``best.json`` of every transformer run the config plans: per seed and ablation fraction, STL per
    task, MTL on all (with two tasks or more: over one it would be that task's STL run again), each held-out
    task fine-tuned; per seed, MTL without each entity group."""
    settings = config["multitask"]
    encoder = encoder or settings["encoder"]
    tasks = huner_tasks(config, registry)

    def run(experiment: str, group: str, fraction: str, seed: int) -> str:
        return MULTITASK_RUN.format(root=root, encoder=encoder, experiment=experiment, group=group,
                                    fraction=fraction, seed=seed)

    runs = []
    for seed in settings["seeds"]:
        for fraction in [f"{fraction:g}" for fraction in settings["ablation_fractions"]]:
            runs += [run("stl", task, fraction, seed) for task in tasks]
            if len(tasks) > 1:
                runs.append(run("mtl", "all", fraction, seed))
            for entity in settings["entity_groups"]:
                runs += [run("finetune", task, fraction, seed) for task in tasks
                         if task_entity(registry, task) == entity]
        runs += [run("mtl_without", entity, "0", seed) for entity in settings["entity_groups"]]
    return [f"{run}/best.json" for run in runs]
