import re

import pytest
import yaml

from mtaal.cli import REPO_CONFIG, load_config
from mtaal.errors import MtaalError
from tests.workflow_helpers import copy_workflow, snakemake

TIERS = sorted((REPO_CONFIG / "tiers").glob("*.yaml"))


@pytest.mark.parametrize("tier", TIERS, ids=lambda p: p.stem)
def test_every_tier_is_valid(tier):
    config = load_config([REPO_CONFIG / "config.yaml", tier])
    assert config["tier"] == tier.stem


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"on_missing_corpus": "ignore"}, "on_missing_corpus"),
        ({"mtaal_data": {"min_words": -1}}, "mtaal_data.min_words"),
        ({"datasets": ["no_such_dataset"]}, "datasets.0"),
        ({"unknown_key": 1}, "(top level)"),
    ],
)
def test_bad_values_are_rejected_naming_the_key(tmp_path, override, key):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(override))
    with pytest.raises(MtaalError, match=rf"config key {re.escape(key)}"):
        load_config([REPO_CONFIG / "config.yaml", bad])


def test_snakemake_validates_config_before_any_job(tmp_path):
    workdir = copy_workflow(tmp_path)
    result = snakemake(workdir, "-n", "--config", "on_missing_corpus=ignore", check=False)
    assert result.returncode != 0
    assert "on_missing_corpus" in result.stderr + result.stdout
    assert not (workdir / "results").exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"mtaal_data": {"labeled_fraction": 0.5}},
         r"labeled_fraction \+ unlabeled_fraction \+ test_fraction must be 1 in pooled mode "
         r"\(within 1e-6\), got 0.5 \+ 0.7 \+ 0.1 = 1.3"),
        ({"mtaal": {"diversity": {"variants": ["mtaal", "mtl-nope"]}}},
         r"mtaal.diversity.variants: mtl-nope not in mtaal.variants"),
        ({"mtaal": {"embeddings": ["glove", "user"]}}, r"`user` needs mtaal.user_vectors"),
        ({"datasets": ["ncbi_disease", "s800_species"]}, r"mtaal_data.datasets: bc5cdr not in `datasets`"),
        ({"mtaal_data": {"datasets": ["bc5cdr"]}},
         r"mtaal.datasets: ncbi_disease not in mtaal_data.datasets"),
        ({"mtaal": {"curves": {"variant_seeds": {"mtl-nope": [1]}}}},
         r"mtaal.curves.variant_seeds: mtl-nope not in mtaal.variants"),
        ({"multitask": {"encoder": "biobert_vocab"}}, r"'biobert_vocab' has no model"),
        ({"multitask": {"wordpiece_encoders": ["minilm", "bert"]}}, r"wordpiece_encoders: bert not in"),
    ],
    ids=["fractions", "variant", "user-vectors", "dataset-of-split", "dataset-of-runs", "variant-seeds",
         "encoder", "wordpiece"],
)
def test_settings_that_span_keys_are_checked_with_the_schema(tmp_path, override, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(override))
    with pytest.raises(MtaalError, match=message):
        load_config([REPO_CONFIG / "config.yaml", bad])


def test_fractions_are_compared_within_a_tolerance_and_printed_with_their_digits(tmp_path):
    close = tmp_path / "close.yaml"
    close.write_text(yaml.safe_dump({"mtaal_data": {"test_fraction": 0.1000001}}))  # 0.2 + 0.7 + 0.1000001
    assert load_config([REPO_CONFIG / "config.yaml", close])["mtaal_data"]["test_fraction"] == 0.1000001
    off = tmp_path / "off.yaml"
    off.write_text(yaml.safe_dump({"mtaal_data": {"test_fraction": 0.100002}}))
    with pytest.raises(MtaalError, match=r"got 0.2 \+ 0.7 \+ 0.100002 = 1.000002$"):
        load_config([REPO_CONFIG / "config.yaml", off])


def test_official_split_mode_ignores_the_test_fraction(tmp_path):
    ok = tmp_path / "ok.yaml"
    ok.write_text(yaml.safe_dump({"mtaal_data": {"split_mode": "official", "test_fraction": 0.5}}))
    assert load_config([REPO_CONFIG / "config.yaml", ok])["mtaal_data"]["test_fraction"] == 0.5


def test_snakemake_checks_keys_that_span_the_config_before_any_job(tmp_path):
    workdir = copy_workflow(tmp_path / "workflow")
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"mtaal_data": {"labeled_fraction": 0.5}}))
    result = snakemake(workdir, "-n", "--configfile", str(tmp_path / "bad.yaml"), check=False)
    assert result.returncode != 0
    assert "must be 1 in pooled mode" in result.stderr + result.stdout
    assert not (workdir / "results").exists()
