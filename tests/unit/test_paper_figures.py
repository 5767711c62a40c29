"""The multitask paper's Figs. 5 and 6 from a hand-made store: group means over tasks (seeds first),
within-group standard errors, and the same tasks behind every line of Fig. 6."""

import math

import pandas as pd
import pytest

from mtaal.results.paper_figures import FULL_MTL, fig5_figure, fig5_table, fig6_figure, fig6_table
from mtaal.results.store import SCHEMA


def _row(experiment, group, task, seed, value, fraction=0.0, final=True, metric="word_io_f1"):
    entity = {"cellline": "cell_line"}.get(task.rsplit("_", 1)[1], task.rsplit("_", 1)[1])
    row = dict.fromkeys(["paper", "experiment", *SCHEMA.names])
    row.update(paper="multitask", experiment=experiment, setting=f"{experiment}/{group}", dataset=task,
               entity_type=entity, seed=seed, ablation_fraction=fraction, final=final, split="test",
               metric=metric, value=value, step=1)
    return row


def test_fig5_bars_are_group_means_with_standard_errors_over_tasks(tmp_path):
    store = pd.DataFrame([
        # gene tasks with chemical held out: per-task seed means 0.8 and 0.6
        _row("mtl_without", "chemical", "bc2gm_gene", 1, 0.7),
        _row("mtl_without", "chemical", "bc2gm_gene", 2, 0.9),
        _row("mtl_without", "chemical", "fsu_gene", 1, 0.6),
        _row("mtl_without", "chemical", "fsu_gene", 1, 0.1, final=False),  # not the best epoch
        _row("mtl_without", "chemical", "fsu_gene", 1, 0.2, metric="word_f1"),  # another metric
        _row("mtl", "all", "bc2gm_gene", 1, 0.85), _row("mtl", "all", "fsu_gene", 1, 0.75),
        _row("mtl", "all", "fsu_gene", 1, 0.2, fraction=0.5),  # ablated: not in Fig. 5
    ])
    table = fig5_table(store).set_index(["held_out", "entity_type"])
    gene = table.loc[("chemical", "gene")]
    assert gene["mean"] == pytest.approx(0.7) and gene["tasks"] == 2
    assert gene["se"] == pytest.approx(math.sqrt(0.02) / math.sqrt(2))  # sd of (0.8, 0.6) / sqrt(2)
    assert table.loc[(FULL_MTL, "gene"), "mean"] == pytest.approx(0.8)
    fig5_figure(table.reset_index(), [tmp_path / "f.png", tmp_path / "f.svg"], "test")
    assert (tmp_path / "f.png").stat().st_size > 0 and (tmp_path / "f.svg").exists()


def test_fig6_averages_the_fine_tuned_tasks_of_each_group_beside_stl_and_mtl(tmp_path):
    store = pd.DataFrame([
        _row("finetune", "s800_species", "s800_species", 1, 0.8, fraction=0.5),
        _row("finetune", "linnaeus_species", "linnaeus_species", 1, 0.6, fraction=0.5),
        _row("stl", "s800_species", "s800_species", 1, 0.7, fraction=0.5),
        _row("stl", "linnaeus_species", "linnaeus_species", 1, 0.5, fraction=0.5),
        _row("stl", "cdr_chemical", "cdr_chemical", 1, 0.9, fraction=0.5),  # never fine-tuned: left out
        _row("mtl", "all", "s800_species", 1, 0.75, fraction=0.5),
    ])
    table = fig6_table(store).set_index(["entity_type", "model", "ablation_fraction"])
    assert table.loc[("species", "finetune", 0.5), "mean"] == pytest.approx(0.7)
    assert table.loc[("species", "stl", 0.5), "mean"] == pytest.approx(0.6)
    assert table.loc[("species", "mtl", 0.5), "tasks"] == 1
    assert "chemical" not in table.index.get_level_values("entity_type")
    fig6_figure(table.reset_index(), [tmp_path / "g.png"], "test")
    assert (tmp_path / "g.png").stat().st_size > 0


def test_empty_store_gives_empty_tables_and_a_figure_that_says_so(tmp_path):
    empty = pd.DataFrame(columns=["paper", "experiment", *SCHEMA.names])
    assert fig5_table(empty).empty and fig6_table(empty).empty
    fig5_figure(fig5_table(empty), [tmp_path / "e.png"], "test")
    assert (tmp_path / "e.png").exists()


def test_the_annotation_curve_of_a_pipeline_check_tier_says_so(tmp_path):
    import pandas as pd

    from mtaal.results.figures import annotation_figure

    points = pd.DataFrame({"dataset": ["bc5cdr"] * 2, "series": ["transformer cdr_chemical"] * 2,
                           "labeled_fraction": [0.5, 1.0], "mean": [0.51, 0.39], "std": [0.0, 0.0]})
    for tier, says in (("default", True), ("paper", False)):
        svg = tmp_path / f"{tier}.svg"
        annotation_figure(points, [svg], tier)
        assert ("pipeline check at the default tier" in svg.read_text()) is says
