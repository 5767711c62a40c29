"""What the `mtaal` command line says, instead of a traceback, to a user's mistake (issue 27, item 6):
exit code 2 and one line naming the file and what to do."""

import re

import pytest

from mtaal.cli import REPO_CONFIG, main

TINY = REPO_CONFIG / "tiers" / "tiny.yaml"


def fails(capsys, *argv) -> str:
    assert main([str(part) for part in argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("mtaal: error: ")
    return err


@pytest.mark.parametrize(("text", "message"), [
    ("tier: [tiny\ndatasets: [ncbi_disease]\n",
     r"bad\.yaml:2:9: expected a YAML config file, found broken YAML"),
    ("- tier: tiny\n- datasets: []\n",
     r"bad\.yaml: expected a mapping of config keys .* at the top level, found a list"),
], ids=["broken", "list"])
def test_a_config_file_that_is_no_mapping_is_named(tmp_path, capsys, text, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    for argv in (["--config", REPO_CONFIG / "config.yaml", "--config", bad, "corpus-stats"],
                 ["check-config", REPO_CONFIG / "config.yaml", bad]):
        err = fails(capsys, *argv)
        assert re.search(message, err), err


def test_a_tier_file_alone_says_it_goes_on_top_of_the_config(capsys):
    err = fails(capsys, "--config", TINY, "corpus-stats")
    assert "'corpus_registry' is a required property" in err
    base = REPO_CONFIG / "config.yaml"
    assert (f"{TINY} is not a whole config: a tier file is applied on top of {base}, so give that first: "
            f"--config {base} --config {TINY}") in err


def test_a_file_given_as_results_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("")
    for results in ("notes.txt", "notes.txt/sub"):
        err = fails(capsys, "corpus-stats", "--results", results)
        assert f"--results {results}: notes.txt is a file, not a folder" in err
    fails(capsys, "download", "ncbi_disease", "--results", "notes.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(("step", "damaged", "command"), [
    (["mtaal-split", "ncbi_disease"], "tokens.parquet", "mtaal build-dataset ncbi_disease --results DIR"),
    (["active-learn", "ncbi_disease"], "mtaal_split.parquet", "mtaal mtaal-split ncbi_disease --results DIR"),
], ids=["mtaal-split", "active-learn"])
def test_an_unreadable_parquet_input_names_the_command_that_remakes_it(tmp_path, capsys, monkeypatch, step,
                                                                      damaged, command):
    import pandas as pd

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "DIR/corpora/ncbi_disease"
    folder.mkdir(parents=True)
    for name in ("tokens.parquet", "mtaal_split.parquet"):
        pd.DataFrame({"token": ["a"]}).to_parquet(folder / name)
    (folder / "mtaal_labels.json").write_text("{}")
    data = (folder / damaged).read_bytes()
    (folder / damaged).write_bytes(data[: len(data) // 2])  # truncated: no footer
    err = fails(capsys, *step, "--results", "DIR")
    assert f"DIR/corpora/ncbi_disease/{damaged}: not a readable parquet file" in err
    assert f"make it again with `{command}`" in err


def test_a_damaged_curator_part_names_the_add_text_that_remakes_it(tmp_path, capsys):
    import pyarrow.parquet as pq

    from mtaal.curate import commands as C

    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_text("Asthma is common in adults.\n")
    second.write_text("Cancer is not common in children.\n")
    project = C.init(tmp_path / "proj", ["disease"], False)
    for source in (first, second):
        C.add_text(project, [source], "text", one_per_line=True)
    part = tmp_path / "proj/sentences/part-00001.parquet"
    part.write_bytes(part.read_bytes()[:100])
    for step in (["status", tmp_path / "proj"], ["query", tmp_path / "proj", "-k", "1"]):
        err = fails(capsys, *step)
        assert f"{part}: not a readable parquet file" in err
        again = f"mtaal add-text {tmp_path / 'proj'} {first}"
        assert f"Move it out of {part.parent}, then run `{again}` again" in err
    # done as told: the new part takes the next free number, and the second file's part stays
    part.rename(tmp_path / "damaged.parquet")
    C.add_text(project, [first], "text", one_per_line=True)
    parts = {p.name: pq.read_table(p)["text"].to_pylist() for p in project.parts("sentences")}
    assert parts == {"part-00002.parquet": ["Cancer is not common in children."],
                     "part-00003.parquet": ["Asthma is common in adults."]}


@pytest.mark.parametrize("argv", [["active-learn", "ncbi_disease", "--seed", "-1"],
                                  ["multitask-run", "s800_species", "--seed", "x"],
                                  ["query", "proj", "-k", "0"]], ids=["seed", "seed-word", "k"])
def test_a_negative_seed_or_empty_batch_is_refused_by_the_parser(capsys, argv):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "expected a whole number >= " in err and "Traceback" not in err
