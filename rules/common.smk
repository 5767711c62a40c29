# Configuration is validated before any job runs; registry-derived names drive the wildcards.
from snakemake.utils import validate

from mtaal.corpora.registry import load_registry


validate(config, "../config/schema/config.schema.yaml")

REGISTRY = load_registry(config["corpus_registry"])
DATASETS = config["datasets"]
CORPORA = sorted({REGISTRY.dataset(name).corpus for name in DATASETS} | {"huner_splits", "huner_patches"})
MTAAL_DATASETS = [name for name in config["mtaal_data"]["datasets"] if name in DATASETS]
TABLES = ["documents", "mentions", "tokens", "problems"]


wildcard_constraints:
    corpus="|".join(sorted(REGISTRY.corpora)),
    dataset="|".join(sorted(REGISTRY.datasets)),


def corpus_of(wildcards):
    return REGISTRY.dataset(wildcards.dataset).corpus
