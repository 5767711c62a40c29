"""Each later stage on the `mtaal` command line stops on a missing input naming the command that makes it."""

import pandas as pd
import pytest

from mtaal.cli import main

TASK = "bc2gm_gene"  # one of config/config.yaml's HUNER tasks: the table needs each one's sequences

CASES = {
    ("embeddings", "coverage"): [  # the default config's embeddings: glove only
        "DIR/embeddings/glove.safetensors (make it with `mtaal embeddings glove --results"],
    ("embeddings", "word2vec"): ["DIR/corpora/ncbi_disease/tokens.parquet (make it with `mtaal build-dataset "
                                 "ncbi_disease --results"],
    ("embeddings", "user"): ["config mtaal.user_vectors is not set"],
    ("embeddings", "fasttext"): ["unknown embedding 'fasttext': expected word2vec, glove, user, coverage"],
    ("mtaal-tables",): ["DIR/store/paper=mtaal (make it with `mtaal store --results"],
    ("wordpiece-table",): [f"DIR/wordpiece/minilm/{TASK}.parquet (make it with `mtaal "
                           f"wordpiece {TASK} --encoder minilm --results"],
    ("multitask-report",): ["DIR/store/paper=multitask (make it with `mtaal store --results",
                            "DIR/tables/wordpiece_minilm.parquet (make it with `mtaal wordpiece-table"],
    ("claims",): ["DIR/store (make it with `mtaal store --results",
                  "DIR/tables/corpus_stats.parquet (make it with `mtaal corpus-stats --results",
                  "DIR/tables/wordpiece_minilm.parquet (make it with `mtaal wordpiece-table --encoder minilm "
                  "--results"],
    ("figures",): ["DIR/store (make it with `mtaal store --results"],
    ("report",): ["no table to render under DIR"],
}


@pytest.mark.parametrize("step", list(CASES), ids=" ".join)
def test_a_missing_input_names_the_command_that_makes_it(step, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*step, "--results", "DIR"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for needle in CASES[step]:
        assert needle in err, err
    assert not (tmp_path / "DIR").exists()  # nothing half-made


def test_active_learn_names_the_embeddings_command_for_missing_vectors(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    corpus = tmp_path / "DIR/corpora/ncbi_disease"
    corpus.mkdir(parents=True)
    for name in ("tokens.parquet", "mtaal_split.parquet"):
        pd.DataFrame({"token": ["a"]}).to_parquet(corpus / name)  # only readable parquet before the vectors
    (corpus / "mtaal_labels.json").touch()
    assert main(["active-learn", "ncbi_disease", "--embedding", "word2vec", "--results", "DIR"]) == 2
    assert "DIR/embeddings/word2vec.safetensors (make it with `mtaal embeddings word2vec --results DIR`)" in (
        capsys.readouterr().err)


def test_mtaal_tables_read_the_config_s_runs_in_the_store(tmp_path, capsys, monkeypatch):
    from mtaal.results.store import write_store
    from tests.unit.test_mtaal_tables import run_rows

    monkeypatch.chdir(tmp_path)
    runs = []
    for study, variant in [("curves", "mtaal"), ("curves", "mtaal-no_such"), ("diversity", "mtl-lc")]:
        path = tmp_path / study / variant / "rounds.parquet"
        path.parent.mkdir(parents=True)
        queried = [(0, 0, 0, 0, 0), (5, 5, 20, 3, 2)]
        run_rows("ncbi_disease", variant, 1, 2, [0.1, 0.2], queried, study).to_parquet(path)
        runs.append(path)
    write_store(tmp_path / "DIR/store", runs[1:2], [])  # a run the config does not plan
    assert main(["mtaal-tables", "--results", "DIR"]) == 2
    assert ("no finished MTAAL run of the config in DIR/store/paper=mtaal (make one with `mtaal active-learn "
            "<dataset> [--study diversity] --results DIR`, then `mtaal store --results DIR`)"
            ) in capsys.readouterr().err
    write_store(tmp_path / "DIR/store", runs[:1], [])  # the curves alone: Tables 2-3, an empty Table 4
    assert main(["mtaal-tables", "--results", "DIR"]) == 0
    assert "curves 1 of 2 runs, diversity 0 of 4 runs" in capsys.readouterr().out
    assert pd.read_parquet(tmp_path / "DIR/mtaal/tables/query_diversity.parquet").empty
    write_store(tmp_path / "DIR/store", runs[2:], [])
    assert main(["mtaal-tables", "--results", "DIR"]) == 0
    assert "curves 1 of 2 runs, diversity 1 of 4 runs" in capsys.readouterr().out  # not the unplanned one
    final = pd.read_parquet(tmp_path / "DIR/mtaal/tables/final_f1.parquet")
    assert set(final["variant"]) == {"mtaal"}
    diversity = pd.read_parquet(tmp_path / "DIR/mtaal/tables/query_diversity.parquet").set_index("statistic")
    assert diversity.loc["sentences_with_entity_pct", "mean"] == pytest.approx(40.0)
    assert (tmp_path / "DIR/mtaal/figures/fig8_ablation.png").is_file()
