# Configuration is validated before any job runs; registry-derived names drive the wildcards.
from snakemake.utils import validate

import hashlib
import os
import pickle
from pathlib import Path

import mtaal.corpora.registry
from mtaal.corpora.registry import load_registry


validate(config, "../config/schema/config.schema.yaml")


def cached_registry(path, cache=Path(".snakemake/mtaal_registry.pickle")):
    """The corpus registry, parsed once per content of the file and of its reader: parsing the 1.2 MB
    YAML was a tenth of every `snakemake -n`. Cached under .snakemake/ (written atomically: cluster
    jobs parse the Snakefile concurrently)."""
    reader = Path(mtaal.corpora.registry.__file__)
    content = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    key = (content, reader.stat().st_size, reader.stat().st_mtime_ns)
    try:
        with open(cache, "rb") as handle:
            cached_key, registry = pickle.load(handle)
        if cached_key == key:
            return registry
    except Exception:  # no cache yet, or one from another version of the code: parse again
        pass
    registry = load_registry(path)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f"{cache.name}.{os.getpid()}")
        with open(partial, "wb") as handle:
            pickle.dump((key, registry), handle)
        os.replace(partial, cache)
    except OSError:
        pass  # a read-only working directory: parse every time
    return registry


REGISTRY = cached_registry(config["corpus_registry"])
DATASETS = config["datasets"]
CORPORA = sorted({REGISTRY.dataset(name).corpus for name in DATASETS} | {"huner_splits", "huner_patches"})
MTAAL_DATASETS = [name for name in config["mtaal_data"]["datasets"] if name in DATASETS]
TABLES = ["documents", "mentions", "tokens", "problems"]


wildcard_constraints:
    corpus="|".join(sorted(REGISTRY.corpora)),
    dataset="|".join(sorted(REGISTRY.datasets)),


def corpus_of(wildcards):
    return REGISTRY.dataset(wildcards.dataset).corpus


# MTAAL stage (rules/mtaal.smk): one run per (study, dataset, embedding, variant, seed).
MTAAL = config["mtaal"]
EMBEDDINGS = MTAAL["embeddings"]
STUDIES = {
    "curves": {"variants": list(MTAAL["variants"]), "seeds": MTAAL["seeds"]},
    "diversity": {"variants": MTAAL["diversity"]["variants"], "seeds": MTAAL["diversity"]["seeds"]},
}
FIGURES = ["fig6_td_effect", "fig7_strategies", "fig8_ablation"]


def study_params(study, dataset):
    """One run's loop settings: the study's, less its seed / variant lists, query_size for this dataset."""
    from mtaal.workflow import study_for

    settings = {key: value for key, value in MTAAL[study].items() if key not in ("seeds", "variants")}
    return study_for(settings, dataset)


def mtaal_runs(study):
    return expand(
        "results/mtaal/{study}/{dataset}/{embedding}/{variant}/seed{seed}/rounds.parquet",
        study=study,
        dataset=MTAAL["datasets"],
        embedding=EMBEDDINGS if study == "curves" else EMBEDDINGS[:1],
        variant=STUDIES[study]["variants"],
        seed=STUDIES[study]["seeds"],
    )


# Multitask stage (rules/multitask.smk): one training run per (experiment, group, fraction, seed).
MULTITASK = config["multitask"]
HUNER_TASKS = [name for name in DATASETS if REGISTRY.dataset(name).paper == "huner"]
ENCODER = MULTITASK["encoder"]
FRACTIONS = [f"{fraction:g}" for fraction in MULTITASK["ablation_fractions"]]
ENTITY_GROUPS = MULTITASK["entity_groups"]
RUN_DIR = "results/multitask/{encoder}/{experiment}/{group}/ablation{fraction}/seed{seed}"


def run_path(experiment, name, group="{group}"):
    """A file of a training run, the other wildcards left to Snakemake: run_path("stl", "best.json")."""
    return f"{RUN_DIR.replace('{experiment}', experiment).replace('{group}', group)}/{name}"


def task_entity(task):
    return next(iter(set(REGISTRY.dataset(task).entity_types.values())))


def held_out_tasks(entity):
    return [task for task in HUNER_TASKS if task_entity(task) == entity]


def task_inputs(tasks):
    return {
        **{f"wp_{task}": f"results/wordpiece/{ENCODER}/{task}.parquet" for task in tasks},
        **{f"tokens_{task}": f"results/corpora/{task}/tokens.parquet" for task in tasks},
    }


def multitask_runs():
    runs = []
    for seed in MULTITASK["seeds"]:
        for fraction in FRACTIONS:
            runs += [RUN_DIR.format(encoder=ENCODER, experiment="stl", group=t, fraction=fraction, seed=seed)
                     for t in HUNER_TASKS]
            runs.append(RUN_DIR.format(encoder=ENCODER, experiment="mtl", group="all", fraction=fraction, seed=seed))
            for entity in ENTITY_GROUPS:
                runs += [RUN_DIR.format(encoder=ENCODER, experiment="finetune", group=t, fraction=fraction, seed=seed)
                         for t in held_out_tasks(entity)]
        runs += [RUN_DIR.format(encoder=ENCODER, experiment="mtl_without", group=e, fraction="0", seed=seed)
                 for e in ENTITY_GROUPS]
    return [f"{run}/best.json" for run in runs]


def run_rule_settings():
    return dict(
        training=MULTITASK["training"],
        max_train_sequences=MULTITASK["max_train_sequences"],
        max_eval_sequences=MULTITASK["max_eval_sequences"],
        encoder_spec=MULTITASK["encoders"][ENCODER]["model"],
    )
