import csv
from dataclasses import replace

import pytest
import yaml

from mtaal.corpora.readers import available_readers
from mtaal.corpora.registry import DEFAULT_REGISTRY, entity_type_of, load_registry
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


def test_a_malformed_files_line_names_the_registry_corpus_and_line(tmp_path):
    text = DEFAULT_REGISTRY.read_text()
    broken = text.replace("      LICENSE 77f63de888c0a31dbdcc3f19a66d9c7ea64072f487fb302f250b1e7593d50ec9 ",
                          "      LICENSE 77f63de888c0a31dbdcc3f19a66d9c7ea64072f487fb302f250b1e7593d50ec ", 1)
    assert broken != text
    (tmp_path / "corpora.yaml").write_text(broken)
    with pytest.raises(ConfigError, match=r"corpora.yaml: corpus ncbi_disease, files line 1: expected "
                                          r"'<path> <sha256\|-> <url\|->', found 'LICENSE 77f6"):
        load_registry(tmp_path / "corpora.yaml")


def test_fingerprints_follow_what_the_jobs_read():
    corpus = REGISTRY.corpus("ncbi_disease")
    moved = replace(corpus, files=tuple(replace(f, url="https://elsewhere.org/x") for f in corpus.files))
    assert moved.download_fingerprint() == corpus.download_fingerprint()  # same pinned bytes
    changed = replace(corpus, files=(replace(corpus.files[0], sha256="0" * 64), *corpus.files[1:]))
    assert changed.download_fingerprint() != corpus.download_fingerprint()
    assert replace(corpus, title="x").reading_fingerprint() == corpus.reading_fingerprint()
    assert replace(corpus, patches={}).reading_fingerprint() != corpus.reading_fingerprint()


def test_a_task_has_the_one_entity_type_of_its_labels():
    assert entity_type_of("cll_cellline") == "cell_line"
    assert entity_type_of("s800_species") == "species"
    with pytest.raises(ConfigError, match="chemical, disease, not one"):
        entity_type_of("bc5cdr")
    with pytest.raises(ConfigError, match="unknown dataset"):
        entity_type_of("nope_gene")


def test_the_registry_s_entity_types_are_its_one_type_datasets():
    registry = load_registry(DEFAULT_REGISTRY)
    types = registry.entity_types()
    assert types["cll_cellline"] == "cell_line" and "bc5cdr" not in types
    assert types == {name: entity_type_of(name) for name in registry.datasets if name != "bc5cdr"}


def test_the_held_out_entity_groups_are_the_registry_types_of_the_huner_tasks():
    schema = yaml.safe_load((DEFAULT_REGISTRY.parent / "schema" / "config.schema.yaml").read_text())
    groups = schema["properties"]["multitask"]["properties"]["entity_groups"]["items"]["enum"]
    huner = {d.entity_type for d in REGISTRY.datasets.values() if d.paper == "huner"}
    assert sorted(groups) == sorted(huner)
