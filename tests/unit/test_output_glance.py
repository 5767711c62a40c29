"""The output checker the workflow tests use finds what a reader would stumble on."""

import matplotlib.pyplot as plt

from tests.output_glance import figure_problems, table_problems


def test_an_empty_panel_among_drawn_ones_is_found(tmp_path):
    fig, axes = plt.subplots(1, 3)
    axes[0].plot([0, 1], [0, 1])
    axes[1].bar([0, 1], [2, 3])
    axes[2].set_title("seed 2")
    fig.savefig(tmp_path / "f.svg")
    plt.close(fig)
    assert figure_problems(tmp_path / "f.svg") == [f"{tmp_path / 'f.svg'}: panel 3 of 3 is empty"]


def test_one_panel_that_says_why_it_is_empty_passes(tmp_path):
    fig, ax = plt.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, "no runs at this tier")
    fig.savefig(tmp_path / "f.svg")
    plt.close(fig)
    assert figure_problems(tmp_path / "f.svg") == []


def test_tuple_headers_decimal_epochs_and_repeated_reasons_are_found(tmp_path):
    reason = "not compared: not run at this tier (gellus_cellline not in this tier's datasets)"
    table = tmp_path / "t.md"
    table.write_text(
        "| task | ('ncbi', 'glove', 'ner_f1') | best epoch | note |\n|---|---|---|---|\n"
        f"| a | 0.5 | 4.0 | {reason} |\n| b | 0.6 | 3 | {reason} |\n"
    )
    problems = table_problems(table)
    assert len(problems) == 3
    assert "tuples" in problems[0] and "decimals" in problems[1] and "in 2 rows" in problems[2]
    table.write_text(
        f"| task | best epoch | note |\n|---|---|---|\n| a | 4 | {reason} |\n| b | 3 | short |\n"
    )
    assert table_problems(table) == []
