"""Curator train / query: safetensors round trip, batches never repeat, the manifest audits every step."""

import json
import subprocess
import sys

import pytest
import torch
import yaml
from safetensors.torch import load_file

from mtaal.cli import main
from mtaal.curate import commands as C
from mtaal.curate.learn import load_model, repair_iob2
from mtaal.curate.project import Project, ProjectError

pytestmark = pytest.mark.usefixtures("one_torch_thread")



@pytest.fixture
def project(tmp_path, fixtures):
    folder = fixtures / "curate"
    project = Project.init(tmp_path / "p", ["disease"], concepts=True)
    config = yaml.safe_load((project.root / "config.yaml").read_text())
    config.update(embedding="random", initial_epochs=1, hidden=8, char_dim=8, batch_size=4, min_words=2,
                  device="cpu")
    (project.root / "config.yaml").write_text(yaml.safe_dump(config))
    C.add_text(project, [folder / "abstracts.txt"], one_per_line=True)
    C.add_text(project, [folder / "docs.pubtator"])
    C.add_labels(project, [folder / "seed.conll"])
    return project


def test_model_round_trips_through_safetensors(project):
    C.train(project)
    folder = project.model_dir(1)
    assert sorted(p.name for p in folder.iterdir()) == ["model.json", "model.safetensors", "state.json",
                                                        "state.safetensors"]
    learner, meta = load_model(project, 1, project.labeled())
    saved = load_file(str(folder / "model.safetensors"))
    for name, tensor in learner.model.state_dict().items():
        assert torch.equal(tensor, saved[name]), name
    assert meta["ner_labels"] == ["B-disease", "I-disease", "O"]
    assert meta["nen_labels"] == ["O", "D001249", "D001943", "D006333"]
    # A second load continues the same random stream: the loop's state is in the files.
    again, _ = load_model(project, 1, project.labeled())
    assert learner.rng.integers(1 << 30) == again.rng.integers(1 << 30)


def test_queries_never_repeat_and_the_manifest_audits_them(project, tmp_path):
    C.train(project)
    first = C.query(project, 3)
    second = C.query(project, 3, "lc")
    third = C.query(project, 3, "random")
    picked = first["sentence_ids"] + second["sentence_ids"] + third["sentence_ids"]
    assert len(picked) == len(set(picked)) == 9
    assert third["k"] == 3 and third["pool_size"] == 3  # 9 pool sentences, 6 proposed before
    with pytest.raises(ProjectError, match="pool is empty"):
        C.query(project, 3)
    folder = project.root / "batches" / "batch-0001"
    ranking = (folder / "ranking.tsv").read_text().splitlines()
    assert ranking[0] == "rank\tsentence_id\tdoc_id\tscore\ttext" and len(ranking) == 4
    conll = (folder / "batch-0001.conll").read_text()
    assert [line.split(" = ")[1] for line in conll.splitlines() if line.startswith("# sentence_id")] \
        == first["sentence_ids"]
    # The pre-annotated batch imports as it is, and brat as well.
    C.add_labels(project, [folder / "batch-0001.conll"])
    done = C.add_labels(project, [project.root / "batches" / "batch-0002" / "batch-0002.ann"])
    assert done["from_batches"] == 3
    events = project.events()
    assert [e["command"] for e in events] == ["init", "add-text", "add-text", "add-labels", "train", "query",
                                              "query", "query", "add-labels", "add-labels"]
    assert all({"seq", "time", "user", "command", "details"} <= set(e) for e in events)
    queries = project.events("query")
    assert [q["details"]["strategy"] for q in queries] == ["diversity", "lc", "random"]
    assert [q["details"]["scored_by_version"] for q in queries] == [1, 2, 3]
    assert queries[0]["details"]["seed"] == 1
    summary = C.status(project)
    assert (summary["labeled"], summary["pending"], summary["batches"]) == (8, 3, 3)


def test_warm_training_continues_and_new_concepts_start_a_fresh_model(project, tmp_path):
    first = C.train(project)
    assert first["fresh"] == "first model" and first["model_version"] == 1
    second = C.train(project)
    assert second["fresh"] is None and second["parent"] == 1
    new = tmp_path / "new.conll"
    new.write_text("gout\tB-disease\tD006073\nflared\tO\tO\n")
    C.add_labels(project, [new])
    third = C.train(project)
    assert "D006073" in third["fresh"]
    meta = json.loads((project.model_dir(3) / "model.json").read_text())
    assert "D006073" in meta["nen_labels"] and meta["parent"] is None


def test_cli_status_and_errors(project, capsys, tmp_path):
    assert main(["query", str(project.root)]) == 2
    assert "no model yet" in capsys.readouterr().err
    assert main(["status", str(project.root)]) == 0
    out = capsys.readouterr().out
    assert "labeled 2" in out and "add-labels" in out
    assert main(["status", str(tmp_path / "nothing")]) == 2
    assert "not a mtaal project" in capsys.readouterr().err


def test_one_changing_command_at_a_time_and_a_killed_holder_frees_the_project(project, fixtures, capsys):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom mtaal.curate.project import Project\n"
         "with Project.open(sys.argv[1]).lock('query'):\n    print('held', flush=True)\n    time.sleep(60)",
         str(project.root)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = project.events()
        assert main(["add-text", str(project.root), str(fixtures / "curate" / "abstracts.txt")]) == 2
        error = capsys.readouterr().err
        assert f"`mtaal query` (pid {holder.pid}" in error and "one mtaal command at a time" in error
        assert project.events() == before
        assert main(["status", str(project.root)]) == 0  # reading needs no lock
    finally:
        holder.kill()
        holder.wait()
    assert main(["train", str(project.root)]) == 0
    assert project.events()[-1]["command"] == "train"


def test_repair_iob2():
    assert repair_iob2(["I-disease", "I-disease", "O", "B-disease", "I-disease"]) == \
        ["B-disease", "I-disease", "O", "B-disease", "I-disease"]
