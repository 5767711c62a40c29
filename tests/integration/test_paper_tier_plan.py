"""The paper tier and the release preset, planned with Snakemake (a dry run, no corpora needed): the jobs'
params carry the published settings (FIDELITY.md), so a tier file that drifts from the papers fails here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.workflow_helpers import REPO, copy_workflow

pytestmark = pytest.mark.slow

PAPER = ["config/tiers/paper.yaml"]
RELEASE = [*PAPER, "config/tiers/paper-release.yaml"]
RUN = "results/mtaal/{study}/{dataset}/{embedding}/{variant}/seed1/rounds.parquet"
MULTITASK_RUN = "results/multitask/biobert/{experiment}/{group}/ablation0/seed1/best.json"
TARGETS = [
    RUN.format(study="curves", dataset="ncbi_disease", embedding="word2vec", variant="mtaal"),
    RUN.format(study="curves", dataset="bc5cdr", embedding="glove", variant="mtl-entropy"),
    RUN.format(study="curves", dataset="bc5cdr", embedding="word2vec", variant="mtl-random"),
    RUN.format(study="diversity", dataset="ncbi_disease", embedding="word2vec", variant="mtaal"),
    "results/mtaal/tables/final_f1.parquet",
    MULTITASK_RUN.format(experiment="stl", group="cdr_chemical"),
    MULTITASK_RUN.format(experiment="mtl", group="all"),
]

# Plans TARGETS through Snakemake's API (the command line's dry run prints no params) and prints, per job,
# its rule, first output and params as JSON lines.
PLANNER = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import (ConfigSettings, DAGSettings, OutputSettings, ResourceSettings,
                                      StorageSettings)

configs, targets = json.loads(sys.argv[1]), json.loads(sys.argv[2])
with SnakemakeApi(OutputSettings()) as api:
    workflow = api.workflow(resource_settings=ResourceSettings(cores=1), storage_settings=StorageSettings(),
                            config_settings=ConfigSettings(configfiles=[Path(c) for c in configs]),
                            snakefile=Path("Snakefile"), workdir=Path("."))
    dag = workflow.dag(dag_settings=DAGSettings(targets=set(targets)))
    dag.execute_workflow(executor="dryrun")
    for job in workflow._workflow.dag.jobs:
        print("JOB " + json.dumps({"rule": job.rule.name, "output": str(job.output[0]) if job.output else "",
                                   "params": dict(job.params.items())}, default=str))
"""


def plan(workdir, configs):
    (workdir / "planner.py").write_text(PLANNER)
    result = subprocess.run(
        [sys.executable, "planner.py", json.dumps(configs), json.dumps(TARGETS)], cwd=workdir,
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    jobs = [json.loads(line[4:]) for line in result.stdout.splitlines() if line.startswith("JOB ")]
    return {(job["rule"], job["output"]): job["params"] for job in jobs}


def params_of(jobs, rule, output=None):
    found = [p for (r, o), p in jobs.items() if r == rule and (output is None or o == output)]
    assert found, f"no planned {rule} job {output or ''}"
    return found[0]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("paper_plan"))


@pytest.fixture(scope="module")
def paper(workdir):
    return plan(workdir, PAPER)


@pytest.fixture(scope="module")
def release(workdir):
    return plan(workdir, RELEASE)


def run_params(jobs, **where):
    return params_of(jobs, "mtaal_run", RUN.format(**{"embedding": "word2vec", "variant": "mtaal", **where}))


def test_paper_tier_mtaal_runs_have_the_published_loop(paper):
    ncbi = run_params(paper, study="curves", dataset="ncbi_disease")
    cdr = params_of(paper, "mtaal_run", RUN.format(study="curves", dataset="bc5cdr", embedding="glove",
                                                   variant="mtl-entropy"))
    assert ncbi["study"]["query_size"] == 64 and cdr["study"]["query_size"] == 128  # "Experiment Settings"
    for run in (ncbi, cdr):
        study, model = run["study"], run["model"]
        assert study["rounds"] == 70 and study["epochs_per_round"] == 1
        assert study["initial_epochs"] == 0 and study["dd_steps"] == 1 and study["warm_start"]
        assert study["max_pool_sentences"] is None and study["max_labeled_sentences"] is None
        assert (model["hidden"], model["batch_size"], model["char_dim"], model["lr"]) == (64, 32, 30, 0.001)
        assert model["char_init"] == "paper" and model["discriminators"] == "sentence"
        assert model["entropy_aggregate"] == "sum" and not model["random_with_replacement"]
    diversity = run_params(paper, study="diversity", dataset="ncbi_disease")["study"]
    assert (diversity["query_size"], diversity["rounds"]) == (100, 10)  # Table 4
    assert params_of(paper, "mtaal_tables")["report_after_round"] == {"ncbi_disease": 25, "bc5cdr": 55}


def test_paper_tier_uses_the_releases_300d_vectors(paper):
    word2vec = params_of(paper, "pretrained_vectors", "results/embeddings/word2vec.safetensors")["spec"]
    glove = params_of(paper, "pretrained_vectors", "results/embeddings/glove.safetensors")["spec"]
    assert word2vec["file"] == "GoogleNews-vectors-negative300.bin.gz" and word2vec["binary"]
    assert "0B7XkCwpI5KDYNlNUTTlSS21pQmM" in word2vec["url"]  # the file the release README links
    assert glove["url"].startswith("https://nlp.stanford.edu/") and glove["member"].endswith("300d.txt")
    assert not any(rule in ("word2vec", "glove") for rule, _ in paper)  # no substitute is built


def test_paper_tier_multitask_runs_have_the_authors_training(paper):
    for experiment, group in (("stl", "cdr_chemical"), ("mtl", "all")):
        output = MULTITASK_RUN.format(experiment=experiment, group=group)
        run = params_of(paper, f"multitask_{experiment}", output)
        training = run["training"]
        assert run["encoder_spec"] == "dmis-lab/biobert-base-cased-v1.1"
        assert (training["epochs"], training["batch_size"], training["learning_rate"]) == (20, 25, 5e-5)
        assert training["optimizer"] == "adam" and training["schedule"] == "constant"
        assert training["warmup_fraction"] == 0 and training["weight_decay"] == 0
        assert training["max_grad_norm"] is None and run["max_train_sequences"] is None
        assert (training["precision"], training["bucket_pool_batches"]) == ("fp32", 0)  # plain fp32 batches
        assert training["model_selection"] == "per_task"
        identity = run["identity"]  # who the run is, written into its best.json
        assert (identity["experiment"], identity["group"], identity["encoder"], identity["tier"]) == (
            experiment, group, "biobert", "paper")
    stl = params_of(paper, "multitask_stl", MULTITASK_RUN.format(experiment="stl", group="cdr_chemical"))
    assert stl["identity"]["entity_types"] == {"cdr_chemical": "chemical"}
    wordpiece = params_of(paper, "wordpiece", "results/wordpiece/biobert/cdr_chemical.parquet")
    assert wordpiece["max_len"] == 512 and wordpiece["packing"] == "stream"  # Supplemental Fig. 1


def test_release_preset_takes_the_releases_side(paper, release):
    for study, dataset in (("curves", "ncbi_disease"), ("diversity", "ncbi_disease")):
        ours, theirs = run_params(paper, study=study, dataset=dataset), run_params(release, study=study,
                                                                                    dataset=dataset)
        assert theirs["study"] == ours["study"]  # the loop is the paper's in both
        differs = {k for k in ours["model"] if ours["model"][k] != theirs["model"][k]}
        assert differs == {"char_init", "discriminators", "drop_last_batch", "entropy_aggregate", "mnlp_form",
                           "random_with_replacement", "release_test_shuffle", "word_vectors", "char_encoders"}
        assert theirs["model"]["discriminators"] == "word" and theirs["model"]["entropy_aggregate"] == "max"
        assert theirs["model"]["random_with_replacement"] and theirs["model"]["char_init"] == "keras"
    assert params_of(release, "mtaal_split")["settings"]["vocab_from_test"]
    assert not params_of(paper, "mtaal_split")["settings"]["vocab_from_test"]
    cdr = RUN.format(study="curves", dataset="bc5cdr", embedding="word2vec", variant="mtl-random")
    assert params_of(release, "mtaal_run", cdr)["study"]["query_size"] == 128
    stl = MULTITASK_RUN.format(experiment="stl", group="cdr_chemical")
    ours, theirs = params_of(paper, "multitask_stl", stl), params_of(release, "multitask_stl", stl)
    assert {k for k in ours["training"] if ours["training"][k] != theirs["training"][k]} == {"decoding"}
    assert (ours["training"]["decoding"], theirs["training"]["decoding"]) == ("last", "first")
