import csv

import pytest

from mtaal.corpora.readers import available_readers
from mtaal.corpora.registry import load_registry
from mtaal.errors import ConfigError

REGISTRY = load_registry()
CANONICAL_TYPES = {"cell_line", "chemical", "disease", "gene", "species"}


def test_24_datasets_22_of_them_huner_tasks():
    papers = [dataset.paper for dataset in REGISTRY.datasets.values()]
    assert len(papers) == 24 and papers.count("huner") == 22 and papers.count("mtaal") == 2


@pytest.mark.parametrize("name", sorted(REGISTRY.datasets))
def test_every_dataset_maps_to_canonical_types_and_a_known_reader(name):
    dataset = REGISTRY.dataset(name)
    corpus = REGISTRY.corpus(dataset.corpus)
    assert dataset.entity_types, f"{name}: no entity types mapped"
    assert set(dataset.entity_types.values()) <= CANONICAL_TYPES
    assert corpus.reader in available_readers()
    assert corpus.files, f"{corpus.name}: the registry must list the files to fetch"
    assert corpus.homepage.startswith("http") and corpus.license
    if dataset.split["scheme"] == "huner":
        assert dataset.split["list"]


def test_every_file_is_pinned_or_says_where_to_get_it():
    for corpus in REGISTRY.corpora.values():
        for spec in corpus.files:
            assert spec.sha256 or corpus.manual or spec.url, f"{corpus.name}/{spec.path}"
            assert spec.sha256 is None or len(spec.sha256) == 64


def test_unknown_names_are_refused_with_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown dataset 'nope'.*bc2gm_gene"):
        REGISTRY.dataset("nope")


def test_registry_digests_equal_the_mirror_manifest(mirror):
    with open(mirror / "MANIFEST.tsv", encoding="utf-8") as handle:
        manifest = {row["file"]: row["sha256"] for row in csv.DictReader(handle, delimiter="\t")}
    checked = 0
    for corpus in REGISTRY.corpora.values():
        for spec in corpus.files:
            key = f"{corpus.name}/{spec.path}"
            if spec.sha256 is not None:
                assert manifest[key] == spec.sha256, key
                checked += 1
            else:
                assert key not in manifest, f"{key} is mirrored: pin its digest"
    assert checked > 4000  # the 4000 JNLPBA standoff files among them
