"""The default tier's figures and tables, read at a glance like the tiny tier's.

The default tier takes about an hour of two cores, beyond the test suite's budget, so this test runs on
request: ``MTAAL_DEFAULT_TIER=render`` renders it in a scratch copy; ``MTAAL_DEFAULT_TIER=<results dir>``
checks the results/ that ``make run`` left (``MTAAL_DEFAULT_TIER=results make test-default``)."""

import os
from pathlib import Path

import pytest

from tests.output_glance import output_problems, svg_words
from tests.workflow_helpers import copy_workflow, snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_results(tmp_path_factory, request):
    wanted = os.environ.get("MTAAL_DEFAULT_TIER")
    if not wanted:
        pytest.skip("the default tier takes ~1 h of 2 cores: set MTAAL_DEFAULT_TIER=render to render it "
                    "here, or MTAAL_DEFAULT_TIER=<results dir> to check one `make run` made")
    if wanted != "render":
        results = Path(wanted).resolve()
        if not (results / "results" / "claims.md").is_file():
            raise FileNotFoundError(f"{results}: not a finished default-tier results/ (no results/claims.md)")
        return results
    mirror = request.getfixturevalue("mirror")
    workdir = copy_workflow(tmp_path_factory.mktemp("default_tier"))
    snakemake(workdir, "all", mirror=mirror)
    return workdir / "results"


def test_default_tier_figures_and_tables_read_at_a_glance(default_results):
    assert output_problems(default_results) == []


def test_default_tier_names_itself_a_pipeline_check(default_results):
    # Its transformer runs have 40 sequences and a few epochs: their figures must not read as findings.
    for figure in ("results/annotation_curves.svg", "results/fig5_entity_ablation.svg",
                   "results/fig6_finetune_groups.svg", "multitask/minilm/report/fig4_stl_correlation.svg",
                   "multitask/minilm/report/fig6_finetune.svg"):
        words = svg_words(default_results / figure)
        assert "pipeline check at the default tier, not a finding" in words, figure
