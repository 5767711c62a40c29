"""The MTAAL run plan: one ordered enumeration for the rules and the record."""

import itertools

from mtaal.planning import MtaalRun, mtaal_run_plan, planned_mtaal_runs

MTAAL = {
    "datasets": ["ncbi_disease", "bc5cdr"],
    "embeddings": ["word2vec", "glove"],
    "variants": {"mtaal": {}, "mtl-random": {}, "stl_ner-lc": {}},
    "seeds": [1],
    "curves": {"variant_seeds": {"mtaal": [1, 2], "mtl-random": [1, 2]}},
    "diversity": {"variants": ["mtaal", "mtl-random"], "seeds": [3, 4]},
}


def test_repeated_variants_first_seed_by_seed_then_the_others():
    runs = mtaal_run_plan(MTAAL, "curves")
    cells = list(itertools.product(MTAAL["datasets"], MTAAL["embeddings"]))
    expected = [MtaalRun("curves", d, e, v, s)
                for s in (1, 2) for v in ("mtaal", "mtl-random") for d, e in cells]
    expected += [MtaalRun("curves", d, e, "stl_ner-lc", 1) for d, e in cells]
    assert runs == expected


def test_the_diversity_study_runs_the_first_embedding_only():
    runs = mtaal_run_plan(MTAAL, "diversity")
    assert {r.embedding for r in runs} == {"word2vec"} and len(runs) == 2 * 2 * 2
    assert [r.seed for r in runs] == [3] * 4 + [4] * 4


def test_paths_follow_the_rule_templates():
    run = MtaalRun("curves", "bc5cdr", "glove", "mtaal", 2)
    assert str(run.rounds_path("out")) == "out/mtaal/curves/bc5cdr/glove/mtaal/seed2/rounds.parquet"
    assert str(run.benchmark_path("out")) == "out/benchmarks/mtaal/curves/bc5cdr/glove/mtaal/seed2.tsv"
    assert run.run_id == "bc5cdr__glove__mtaal__seed2"
    assert planned_mtaal_runs(MTAAL, "diversity")[:2] == [
        f"results/mtaal/diversity/{d}/word2vec/mtaal/seed3/rounds.parquet" for d in MTAAL["datasets"]]


def test_variant_embeddings_limit_a_variant_to_its_embeddings():
    mtaal = {**MTAAL, "curves": {"variant_embeddings": {"stl_ner-lc": ["glove"]}}}
    runs = mtaal_run_plan(mtaal, "curves")
    assert {(r.variant, r.embedding) for r in runs if r.variant == "stl_ner-lc"} == {("stl_ner-lc", "glove")}
    assert {r.embedding for r in runs if r.variant == "mtaal"} == {"word2vec", "glove"}


def test_the_multitask_reproduction_tier_plans_its_first_stage_as_17_runs():
    from mtaal.cli import REPO_CONFIG, load_config
    from mtaal.corpora.registry import load_registry
    from mtaal.planning import planned_multitask_runs

    config = load_config([REPO_CONFIG / "config.yaml", REPO_CONFIG / "tiers" / "paper.yaml",
                          REPO_CONFIG / "tiers" / "reproduce-multitask.yaml"])
    runs = planned_multitask_runs(config, load_registry(REPO_CONFIG.parent / config["corpus_registry"]))
    first = [r for r in runs if "/ablation0/" in r and ("/stl/" in r or "/mtl/" in r)]
    assert len(first) == 16 + 1 and config["multitask"]["max_train_subwords"] == 50000
    assert sum("/finetune/" in r for r in runs) == 2 * (2 + 4)  # cell line and species tasks, 2 fractions


def test_the_steps_control_plans_cll_single_task_alone_at_100_epochs():
    # MTL over one task would be its STL run again: not planned.
    from mtaal.cli import REPO_CONFIG, load_config
    from mtaal.corpora.registry import load_registry
    from mtaal.planning import planned_multitask_runs

    tiers = REPO_CONFIG / "tiers"
    config = load_config([REPO_CONFIG / "config.yaml", tiers / "paper.yaml",
                          tiers / "reproduce-multitask.yaml", tiers / "reproduce-multitask-steps.yaml"])
    runs = planned_multitask_runs(config, load_registry(REPO_CONFIG.parent / config["corpus_registry"]))
    assert runs == [f"results/multitask/minilm/stl/cll_cellline/ablation{f}/seed1/best.json"
                    for f in ("0", "0.5")]
    assert config["multitask"]["training"]["epochs"] == 100
    assert config["multitask"]["training"]["batch_size"] == 25  # the rest is the record's tier


def test_checkpoints_stay_under_results_unless_checkpoint_dir_moves_them_out(monkeypatch):
    from mtaal.planning import checkpoint_location

    monkeypatch.setenv("HOME", "/home/someone")
    run = "multitask/minilm/mtl/all/ablation0/seed1/checkpoint.safetensors"
    assert checkpoint_location({"tier": "t", "checkpoint_dir": None}, run) == f"results/{run}"
    assert checkpoint_location({"tier": "t"}, run, "out") == f"out/{run}"
    assert (checkpoint_location({"tier": "paper", "checkpoint_dir": "~/ckpt"}, run, "out")
            == f"/home/someone/ckpt/paper/{run}")
