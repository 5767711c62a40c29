import logging

import numpy as np
import pandas as pd
import pytest

from mtaal.active.identity import collect_rounds
from mtaal.active.metrics import QUERY_METRICS
from mtaal.results.mtaal_figures import write_figures
from mtaal.results.mtaal_tables import final_scores, query_diversity, write_tables
from mtaal.results.store import read_store, rounds_from_store, write_store
from tests.output_glance import svg_words


def run_rows(dataset, variant, seed, rounds, f1s, queried=None, study="curves"):
    """A finished run's rounds as run_active_learning writes them; ``queried``: per round, the query
    statistics (None: a run written before runs recorded them)."""
    frame = pd.DataFrame(
        {
            "paper": "mtaal",
            "experiment": study,
            "variant": variant,
            "tier": "test",
            "settings_hash": "0" * 16,
            "available_sentences": 100,
            "dataset": dataset,
            "embedding": "glove",
            "tasks": "ner+nen",
            "strategy": variant.split("-")[-1],
            "seed": seed,
            "round": list(range(rounds)),
            "labeled_count": [10 * (r + 1) for r in range(rounds)],
            "ner_f1": f1s,
            "nen_f1": f1s,
            "release_ner_f1_batch_mean": f1s,
            "release_nen_token_accuracy_batch_mean": f1s,
        }
    )
    if queried is not None:
        frame = frame.assign(**{name: [q[i] for q in queried] for i, name in enumerate(QUERY_METRICS)})
    return frame


# Per round: selections, distinct sentences, distinct words, entity mentions, sentences with an entity.
QUERIED = {1: [(0, 0, 0, 0, 0), (2, 2, 4, 2, 2)], 2: [(0, 0, 0, 0, 0), (2, 1, 3, 1, 1)]}


def write_runs(root, specs):
    paths = []
    for index, (study, variant, seed, f1s, queried) in enumerate(specs):
        path = root / f"run{index}" / "rounds.parquet"  # a path that names nothing: rows say who ran
        path.parent.mkdir(parents=True)
        run_rows("ncbi_disease", variant, seed, len(f1s), f1s, queried, study).to_parquet(path)
        paths.append(path)
    return paths


@pytest.fixture
def rounds(tmp_path):
    """The runs' rounds as the tables read them: through the results store."""
    specs = [
        ("curves", "mtaal", 1, [0.1, 0.5, 0.7], None),
        ("curves", "mtaal", 2, [0.1, 0.3, 0.5], None),
        ("curves", "mtl-random", 1, [0.1, 0.2, 0.3], None),
        ("diversity", "mtaal", 1, [0.0, 0.0], QUERIED[1]),
        ("diversity", "mtaal", 2, [0.0, 0.0], QUERIED[2]),
        ("diversity", "mtaal", 3, [0.0, 0.0], None),  # written before runs recorded what they queried
    ]
    write_store(tmp_path / "store", write_runs(tmp_path, specs), [])
    return rounds_from_store(read_store(tmp_path / "store"))


def test_study_and_variant_come_from_the_rows(rounds):
    assert set(rounds["study"]) == {"curves", "diversity"}
    assert set(rounds["variant"]) == {"mtaal", "mtl-random"}


def test_rounds_without_identity_are_refused_naming_the_file(tmp_path):
    path = tmp_path / "curves" / "ncbi_disease" / "glove" / "mtaal" / "seed1" / "rounds.parquet"
    path.parent.mkdir(parents=True)
    rows = run_rows("ncbi_disease", "mtaal", 1, 2, [0.1, 0.2])
    rows.drop(columns=["experiment"]).to_parquet(path)
    with pytest.raises(ValueError, match=r"seed1/rounds.parquet: no run identity \['experiment'\]"):
        collect_rounds([path])


def test_final_scores_take_the_requested_round_mean_and_std_over_seeds(rounds):
    table = final_scores(rounds, {"ncbi_disease": 1})
    row = table[(table["variant"] == "mtaal") & (table["metric"] == "ner_f1")].iloc[0]
    assert row["round"] == 1 and row["n_seeds"] == 2
    assert row["mean"] == pytest.approx(0.4) and row["std"] == pytest.approx(np.std([0.5, 0.3], ddof=1))
    late = final_scores(rounds, {"ncbi_disease": 99})
    assert late[(late["variant"] == "mtl-random") & (late["metric"] == "ner_f1")]["mean"].item() == 0.3


def test_query_diversity_from_the_runs_query_statistics(rounds, caplog):
    with caplog.at_level(logging.WARNING):
        table = query_diversity(rounds).set_index("statistic")
    assert "1 of 3 diversity runs have no query statistics" in caplog.text  # seed 3: left out
    assert table.loc["selected_sentences", "mean"] == pytest.approx(2)
    assert table.loc["distinct_words", "mean"] == pytest.approx((4 + 3) / 2)
    assert table.loc["entity_mentions", "mean"] == pytest.approx((2 + 1) / 2)
    assert table.loc["sentences_with_entity_pct", "mean"] == pytest.approx(100.0)
    assert table.loc["selected_sentences", "n_repeats"] == 2


def test_tables_without_any_query_statistics_have_an_empty_table_4(tmp_path):
    specs = [("curves", "mtaal", 1, [0.1, 0.5], None), ("diversity", "mtaal", 1, [0.0, 0.0], None)]
    write_store(tmp_path / "store", write_runs(tmp_path, specs), [])
    rounds = rounds_from_store(read_store(tmp_path / "store"))
    assert not set(QUERY_METRICS) & set(rounds.columns)
    names = ["rounds", "final", "final_md", "diversity", "diversity_md", "cost", "cost_md"]
    out = {name: tmp_path / f"{name}.{'md' if name.endswith('md') else 'parquet'}" for name in names}
    write_tables(rounds, {"ncbi_disease": 1}, out)
    assert pd.read_parquet(out["diversity"]).empty
    final = pd.read_parquet(out["final"])
    assert final.loc[final["metric"] == "ner_f1", "mean"].tolist() == [0.5]


def test_figures_are_written_as_png_and_svg(rounds, tmp_path):
    write_figures(rounds, tmp_path / "figures")
    for name in ("fig6_td_effect", "fig7_strategies", "fig8_ablation", "fig9_annotation_cost"):
        assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 1000
        assert (tmp_path / "figures" / f"{name}.svg").read_text().startswith("<?xml")


def costed(variant, seed, f1s, words_per_pick, mentions_per_pick=1):
    """A curve run that records its annotation cost: 10 sentences of 20 words labeled at first, then 10
    picks a round of ``words_per_pick`` words."""
    rows = run_rows("ncbi_disease", variant, seed, len(f1s), f1s)
    return rows.assign(labeled_words=[200 + 10 * words_per_pick * r for r in range(len(f1s))],
                       labeled_mentions=[10 + 10 * mentions_per_pick * r for r in range(len(f1s))])


def test_equal_cost_reads_f1_at_the_common_word_budget(tmp_path):
    from mtaal.results.mtaal_cost import equal_cost_markdown, equal_cost_runs, equal_cost_table, run_table

    # Long picks (40 words) look better per sentence; per word they are the same learner as short picks.
    paths = []
    for index, frame in enumerate([costed("mtl-lc", 1, [0.0, 0.2, 0.4, 0.6], 40, 2),
                                   costed("mtl-random", 1, [0.0, 0.1, 0.2, 0.3], 20),
                                   run_rows("ncbi_disease", "mtaal", 1, 4, [0.0, 0.1, 0.2, 0.3])]):
        path = tmp_path / f"run{index}" / "rounds.parquet"
        path.parent.mkdir(parents=True)
        frame.to_parquet(path)
        paths.append(path)
    write_store(tmp_path / "store", paths, [])
    rounds = rounds_from_store(read_store(tmp_path / "store"))
    runs = equal_cost_runs(rounds, {"ncbi_disease": 3}).set_index(["variant", "statistic"])["value"]
    assert "mtaal" not in runs.index.get_level_values("variant")  # no cost recorded: left out
    assert runs["mtl-lc", "word_budget"] == runs["mtl-random", "word_budget"] == 200 + 10 * 20 * 3
    assert runs["mtl-lc", "f1_at_report_round"] == 0.6 and runs["mtl-random", "f1_at_report_round"] == 0.3
    assert runs["mtl-lc", "f1_at_equal_words"] == pytest.approx(0.3)  # 800 words: 1.5 rounds of 400
    assert runs["mtl-random", "f1_at_equal_words"] == pytest.approx(0.3)
    assert (runs["mtl-lc", "words_per_selection"], runs["mtl-random", "words_per_selection"]) == (40, 20)
    assert runs["mtl-lc", "mentions_per_selection"] == 2
    assert runs["mtl-lc", "takeoff_round"] == 2 and runs["mtl-random", "takeoff_round"] == 2
    every = run_table(rounds, {"ncbi_disease": 3}).set_index("variant")
    assert every.loc["mtaal", "takeoff_round"] == 2 and np.isnan(every.loc["mtaal", "words_per_selection"])
    assert every.loc["mtl-lc", "words_per_selection"] == 40 and every.loc["mtl-lc", "f1"] == 0.6
    table = equal_cost_table(rounds, {"ncbi_disease": 3})
    assert set(table["n_seeds"]) == {1}
    text = equal_cost_markdown(table, "title")
    assert "f1 at equal words" in text and "mtl-lc" in text and "| mtaal " not in text


def test_table_4_gains_the_words_per_selected_sentence(tmp_path):
    frame = costed("mtaal", 1, [0.0, 0.0], 30).assign(experiment="diversity")
    frame = frame.assign(**{name: [q[i] for q in QUERIED[1]] for i, name in enumerate(QUERY_METRICS)})
    path = tmp_path / "run" / "rounds.parquet"
    path.parent.mkdir(parents=True)
    frame.to_parquet(path)
    write_store(tmp_path / "store", [path], [])
    table = query_diversity(rounds_from_store(read_store(tmp_path / "store"))).set_index("statistic")
    assert table.loc["words_per_selection", "mean"] == pytest.approx(300 / 2)  # 300 words over 2 selections


def test_figures_draw_what_ran_and_name_what_did_not(rounds, tmp_path):
    # The default tier's curves: MTAAL and random without TD only.
    drawn = write_figures(rounds, tmp_path / "figures")
    assert drawn["fig6_td_effect"] == {"random": ["without TD"], "not run": ["entropy", "least confidence"]}
    assert drawn["fig7_strategies"][""] == ["random (without TD)", "MTAAL"]
    assert drawn["fig8_ablation"] == {"": ["MTAAL"], "not run": []}
    title = svg_words(tmp_path / "figures/fig6_td_effect.svg")
    assert "not run at this tier: entropy, least confidence" in title


def test_final_table_has_word_headers_and_names_the_papers_metric(rounds, tmp_path):
    names = ["rounds", "final", "final_md", "diversity", "diversity_md", "cost", "cost_md"]
    out = {name: tmp_path / f"{name}.{'md' if name.endswith('md') else 'parquet'}" for name in names}
    write_tables(rounds, {"ncbi_disease": 1}, out)
    text = out["final_md"].read_text()
    assert "('" not in text and "ncbi_disease, glove: NER F1 (entity, strict)" in text
    assert "token accuracy" in text and "0.300 ±" not in text  # one seed: no spread printed
