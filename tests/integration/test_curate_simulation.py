"""The curator CLI loop with the gold labels as the curator selects what the workflow's simulated run selects.

Real NCBI-disease abstracts from the mirror. Workflow side: the corpus layer's tokens (``build_tables``),
an :class:`ALData` of their kept sentences and ``run_active_learning``. Curator side: the same abstracts
as PubTator text without annotations (``add-text``), the seed sentences as CoNLL, then per round ``query``,
the batch file corrected to the gold tags, ``add-labels`` and ``train``. Same seed and settings.
"""

import numpy as np
import pandas as pd
import pytest
import yaml

from mtaal.active.data import OUTSIDE, ALData
from mtaal.active.loop import run_active_learning
from mtaal.active.settings import ALSettings
from mtaal.cli import main
from mtaal.corpora.model import Document
from mtaal.corpora.readers.pubtator import read_pubtator
from mtaal.corpora.tidy import build_tables
from mtaal.curate.project import Project

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]

TYPES = {"SpecificDisease": "disease", "DiseaseClass": "disease", "Modifier": "disease",
         "CompositeMention": "disease"}
N_DOCS, N_SEED, ROUNDS, K = 24, 12, 3, 5
MIN_WORDS, MAX_WORDS = 5, 60
# Far below the pool size: the curator streams the pool in several chunks, the workflow scores it whole.
QUERY_CHUNK = 37



def _sentences(tokens: pd.DataFrame) -> pd.DataFrame:
    grouped = tokens.groupby(["doc_id", "sentence"], sort=False)
    return grouped.agg(words=("token", list), starts=("start", list), tags=("tag", list),
                       concepts=("concept_id", list)).reset_index()


def _corpus(mirror):
    """Abstracts whose raw-text tokenization equals the gold one (mentions split no word, cut no
    sentence), and their gold sentences."""
    documents = read_pubtator(mirror / "ncbi_disease", {"train": "NCBItrainset_corpus.txt"})
    chosen, gold = [], []
    for document in documents:
        tagged = _sentences(build_tables([(document, "train")], TYPES).tokens.to_pandas())
        raw = _sentences(build_tables([(Document(document.doc_id, document.text), "train")], {})
                         .tokens.to_pandas())
        same = len(raw) == len(tagged) and all(
            a == b and c == d for a, b, c, d in zip(raw.words, tagged.words, raw.starts, tagged.starts,
                                                    strict=True))
        if same:
            chosen.append(document)
            gold.append(tagged)
        if len(chosen) == N_DOCS:
            break
    gold = pd.concat(gold, ignore_index=True)
    gold["n"] = gold.words.map(len)
    gold = gold[(gold.n > MIN_WORDS) & (gold.n < MAX_WORDS)].reset_index(drop=True)
    gold["sentence_id"] = gold.doc_id + ":" + gold.sentence.astype(str)
    return chosen, gold


def _al_data(gold: pd.DataFrame, labeled: list[str]) -> ALData:
    concepts = [[c if t != OUTSIDE and c is not None else OUTSIDE for t, c in zip(ts, cs, strict=True)]
                for ts, cs in zip(gold.tags, gold.concepts, strict=True)]
    ner_labels = sorted({t for ts in gold.tags for t in ts})
    nen_labels = [OUTSIDE, *sorted({c for cs in concepts for c in cs} - {OUTSIDE})]
    ner_ids = {t: i for i, t in enumerate(ner_labels)}
    nen_ids = {c: i for i, c in enumerate(nen_labels)}
    ids = gold.sentence_id.tolist()
    return ALData(
        sentence_ids=ids, words=gold.words.tolist(), ner=[[ner_ids[t] for t in ts] for ts in gold.tags],
        nen=[[nen_ids[c] for c in cs] for cs in concepts], ner_gold=gold.tags.tolist(), nen_gold=concepts,
        ner_labels=ner_labels, nen_labels=nen_labels,
        vocab_words=sorted({w for ws in gold.words for w in ws}), labeled=labeled,
        unlabeled=[i for i in ids if i not in set(labeled)], test=[],
    )


def _conll(rows, gold_by_id) -> str:
    lines = []
    for sid in rows:
        row = gold_by_id[sid]
        lines.append(f"# sentence_id = {sid}")
        for word, tag, concept in zip(row.words, row.tags, row.concepts, strict=True):
            lines.append(f"{word}\t{tag}\t{concept if tag != OUTSIDE and concept else '-'}")
        lines.append("")
    return "\n".join(lines) + "\n"


def _corrected(batch_file, gold_by_id) -> str:
    """The curator's work: the batch file with every predicted tag replaced by the gold one."""
    ids = [line.split("=", 1)[1].strip() for line in batch_file.read_text().splitlines()
           if line.startswith("# sentence_id")]
    return _conll(ids, gold_by_id)


def test_cli_loop_selects_what_the_workflow_selects(mirror, tmp_path):
    documents, gold = _corpus(mirror)
    assert sorted({t for ts in gold.tags for t in ts}) == ["B-disease", "I-disease", "O"]
    rng = np.random.default_rng(0)
    seed_ids = [gold.sentence_id[i] for i in np.sort(rng.choice(len(gold), N_SEED, replace=False))]
    data = _al_data(gold, seed_ids)
    settings = ALSettings(
        dataset="ncbi_disease", embedding="random", strategy="diversity", use_td=True, use_dd=True, seed=3,
        rounds=ROUNDS, query_size=K, initial_epochs=2, epochs_per_round=1, batch_size=8, hidden=8,
        char_dim=8, dd_steps=2, scoring_batch_size=16, device="cpu",
    )
    rounds = run_active_learning(settings, data, None, tmp_path / "rounds.parquet",
                                 tmp_path / "ckpt.safetensors", progress=False)
    workflow = [list(ids) for ids in rounds.selected_ids[1:]]

    # The curator: the abstracts as text, the seed as CoNLL, gold labels for every batch.
    pubtator = tmp_path / "abstracts.pubtator"
    pubtator.write_text("".join(f"{d.doc_id}|t|{d.text.split(chr(10), 1)[0]}\n"
                                f"{d.doc_id}|a|{d.text.split(chr(10), 1)[1]}\n\n" for d in documents))
    concepts = tmp_path / "concepts.txt"
    concepts.write_text("\n".join(data.nen_labels[1:]) + "\n")
    project = tmp_path / "project"
    gold_by_id = {row.sentence_id: row for row in gold.itertuples()}
    assert main(["init", str(project), "--entity-types", "disease", "--concepts", str(concepts)]) == 0
    config = yaml.safe_load((project / "config.yaml").read_text())
    config.update(embedding="random", seed=3, strategy="diversity", use_td=True, use_dd=True,
                  initial_epochs=2, epochs_per_round=1, batch_size=8, hidden=8, char_dim=8, dd_steps=2,
                  scoring_batch_size=16, device="cpu", min_words=MIN_WORDS, max_words=MAX_WORDS,
                  query_chunk_sentences=QUERY_CHUNK)
    (project / "config.yaml").write_text(yaml.safe_dump(config))
    assert main(["add-text", str(project), str(pubtator)]) == 0
    seed_file = tmp_path / "seed.conll"
    seed_file.write_text(_conll(seed_ids, gold_by_id))
    assert main(["add-labels", str(project), str(seed_file)]) == 0
    assert main(["train", str(project)]) == 0
    for batch in range(1, ROUNDS + 1):
        assert main(["query", str(project), "-k", str(K)]) == 0
        name = f"batch-{batch:04d}"
        corrected = tmp_path / f"{name}.conll"
        corrected.write_text(_corrected(project / "batches" / name / f"{name}.conll", gold_by_id))
        assert main(["add-labels", str(project), str(corrected)]) == 0
        assert main(["train", str(project)]) == 0

    events = Project.open(project).events("query")
    assert events[0]["details"]["pool_size"] > 3 * QUERY_CHUNK
    curator = [event["details"]["sentence_ids"] for event in events]
    assert curator == workflow
    assert len({sid for batch in curator for sid in batch}) == ROUNDS * K
