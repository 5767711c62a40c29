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
