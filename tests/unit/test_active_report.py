import numpy as np
import pandas as pd
import pytest

from mtaal.active.report import collect_rounds, final_scores, query_diversity, write_figures


def run_rows(dataset, variant, seed, rounds, f1s, selected, study="curves"):
    return pd.DataFrame(
        {
            "experiment": study,
            "variant": variant,
            "dataset": dataset,
            "embedding": "glove",
            "seed": seed,
            "round": list(range(rounds)),
            "labeled_count": [10 * (r + 1) for r in range(rounds)],
            "ner_f1": f1s,
            "nen_f1": f1s,
            "release_ner_f1_batch_mean": f1s,
            "release_nen_token_accuracy_batch_mean": f1s,
            "selected_ids": selected,
        }
    )


@pytest.fixture
def rounds(tmp_path):
    paths = []
    specs = [
        ("curves", "mtaal", 1, [0.1, 0.5, 0.7]),
        ("curves", "mtaal", 2, [0.1, 0.3, 0.5]),
        ("curves", "mtl-random", 1, [0.1, 0.2, 0.3]),
        ("diversity", "mtaal", 1, None),
        ("diversity", "mtaal", 2, None),
    ]
    for index, (study, variant, seed, f1s) in enumerate(specs):
        if f1s is None:
            f1s, selected = [0.0, 0.0], [[], ["d1:0", "d1:1"] if seed == 1 else ["d1:1"]]
        else:
            selected = [[] for _ in f1s]
        path = tmp_path / f"run{index}" / "rounds.parquet"  # a path that names nothing: rows say who ran
        path.parent.mkdir(parents=True)
        run_rows("ncbi_disease", variant, seed, len(f1s), f1s, selected, study).to_parquet(path)
        paths.append(path)
    return collect_rounds(paths)


def test_study_and_variant_come_from_the_rows(rounds):
    assert set(rounds["study"]) == {"curves", "diversity"}
    assert set(rounds["variant"]) == {"mtaal", "mtl-random"}


def test_rounds_without_identity_are_refused_naming_the_file(tmp_path):
    path = tmp_path / "curves" / "ncbi_disease" / "glove" / "mtaal" / "seed1" / "rounds.parquet"
    path.parent.mkdir(parents=True)
    rows = run_rows("ncbi_disease", "mtaal", 1, 2, [0.1, 0.2], [[], []])
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


def test_query_diversity_counts_words_mentions_and_entity_share(rounds):
    tokens = pd.DataFrame(
        {
            "sentence_id": ["d1:0", "d1:0", "d1:1", "d1:1", "d1:1"],
            "token": ["Breast", "cancer", "no", "cancer", "here"],
            "tag": ["B-disease", "I-disease", "O", "B-disease", "O"],
        }
    )
    table = query_diversity(rounds, {"ncbi_disease": tokens}).set_index("statistic")
    assert table.loc["distinct_words", "mean"] == pytest.approx((4 + 3) / 2)
    assert table.loc["entity_mentions", "mean"] == pytest.approx((2 + 1) / 2)
    assert table.loc["sentences_with_entity_pct", "mean"] == pytest.approx(100.0)
    assert table.loc["selected_sentences", "n_repeats"] == 2


def test_figures_are_written_as_png_and_svg(rounds, tmp_path):
    write_figures(rounds, tmp_path / "figures")
    for name in ("fig6_td_effect", "fig7_strategies", "fig8_ablation"):
        assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 1000
        assert (tmp_path / "figures" / f"{name}.svg").read_text().startswith("<?xml")
