# Configuration is validated before any job runs; registry-derived names drive the wildcards.
from snakemake.utils import validate

from mtaal.active.studies import study_for
from mtaal.config import check_config
from mtaal.corpora.registry import load_registry
from mtaal.planning import (
    MTAAL_BENCHMARK,
    MTAAL_RUN,
    MULTITASK_RUN,
    checkpoint_location,
    multitask_checkpoint,
    huner_tasks,
    planned_mtaal_runs,
    planned_multitask_runs,
    study_runs,
    task_entity,
)

validate(config, "../config/schema/config.schema.yaml")
check_config(config)  # what spans keys (fractions sum to 1, named variants and datasets exist)

REGISTRY = load_registry(config["corpus_registry"])  # ~30 ms: file lists are one YAML string per corpus
# Each one-type dataset's entity type: the type of a task without runs in the reports, comparison and claims
# (a task with runs has its runs' own, in the store).
REGISTRY_TYPES = REGISTRY.entity_types()
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
STUDIES = {study: study_runs(MTAAL, study) for study in ("curves", "diversity")}  # variant -> seeds
FIGURES = ["fig6_td_effect", "fig7_strategies", "fig8_ablation"]


def study_params(study, dataset):
    """One run's loop settings: the study's, less the run choices (seeds, variants), query_size for this
    dataset."""
    return study_for(MTAAL[study], dataset)


def mtaal_runs(study):
    return planned_mtaal_runs(MTAAL, study)


# Multitask stage (rules/multitask.smk): one training run per (experiment, group, fraction, seed).
MULTITASK = config["multitask"]
HUNER_TASKS = huner_tasks(config, REGISTRY)
ENCODER = MULTITASK["encoder"]
ENTITY_GROUPS = MULTITASK["entity_groups"]
RUN_DIR = MULTITASK_RUN.replace("{root}", "results")


def run_path(experiment, name, group="{group}"):
    """A file of a training run, the other wildcards left to Snakemake: run_path("stl", "best.json")."""
    return f"{RUN_DIR.replace('{experiment}', experiment).replace('{group}', group)}/{name}"


def task_inputs(tasks):
    return {
        **{f"wp_{task}": f"results/wordpiece/{ENCODER}/{task}.parquet" for task in tasks},
        **{f"tokens_{task}": f"results/corpora/{task}/tokens.parquet" for task in tasks},
    }


def identity_params(experiment, group, tasks):
    """A run's params.identity (mtaal.multitask.identity.IDENTITY_NAMES): who it is, and each task's entity
    type from this config's corpus registry."""
    return dict(
        experiment=experiment,
        group=group,
        encoder=ENCODER,
        tier=config["tier"],
        entity_types={task: task_entity(REGISTRY, task) for task in tasks},
    )


def without_group(group):
    """The tasks of MTL without an entity group."""
    return [t for t in HUNER_TASKS if task_entity(REGISTRY, t) != group]


def multitask_runs():
    return planned_multitask_runs(config, REGISTRY)


def run_checkpoint(experiment, group=None):
    """A param only when checkpoint_dir is set: runs made before the key existed stay up to date."""
    if not config.get("checkpoint_dir"):
        return {}

    def checkpoint(w):
        return multitask_checkpoint(config, w.encoder, experiment, group or w.group, w.fraction, w.seed)

    return {"checkpoint": checkpoint}


def run_rule_settings(experiment, group=None):
    revision = MULTITASK["encoders"][ENCODER].get("revision")
    return dict(
        **run_checkpoint(experiment, group),
        training=MULTITASK["training"],
        max_train_sequences=MULTITASK["max_train_sequences"],
        max_eval_sequences=MULTITASK["max_eval_sequences"],
        encoder_spec=MULTITASK["encoders"][ENCODER]["model"],
        # a param only when set: runs made before the key existed stay up to date
        **({"max_train_subwords": subwords} if (subwords := MULTITASK.get("max_train_subwords")) else {}),
        # a param only when pinned: runs made before the key existed stay up to date
        **({"encoder_revision": revision} if revision else {}),
    )
