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
