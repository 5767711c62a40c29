"""Stream packing (the paper's): each split one stream of documents, sequences that never split a mention or a
word, closed as the authors' ``create_ner_dataset`` closes them, every subword mapped back to its document
and word; and the evaluation and caps that read such sequences."""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mtaal.corpora.build import build_dataset
from mtaal.corpora.download import download_corpus
from mtaal.corpora.registry import load_registry
from mtaal.multitask.data import TaskData, split_sequences
from mtaal.multitask.evaluation import words_from_sequences
from mtaal.multitask.experiment import cap_table, covered_documents, load_task
from mtaal.multitask.labels import IGNORE_LABEL, NO_WORD
from mtaal.multitask.packing import RELEASE_CLOSE_TOKENS, pack_units, stream_close_after
from mtaal.multitask.sequence_table import sequence_table
from mtaal.multitask.subwords import load_subword_tokenizer
from mtaal.multitask.wordpiece import PAPER_MAX_LEN, build_wordpiece, read_wordpiece
from tests.unit.test_wordpiece import (
    CASED_VOCAB,
    CHAR_VOCAB,
    char_ids,
    char_tokenizer,
    documents,
    mentions_of,
    tokens_frame,
)

REPO = Path(__file__).resolve().parents[2]
SPLIT_OF = ("train", "dev", "train", "test", "dev", "train", "test", "train")  # interleaved on purpose


def split_of(d: int) -> str:
    return SPLIT_OF[d % len(SPLIT_OF)]


def build(docs, max_len, directory: Path, packing: str = "stream"):
    path = directory / "tokens.parquet"
    tokens_frame(docs, split_of).to_parquet(path)
    meta = build_wordpiece(path, directory / f"{packing}.parquet", None, dataset="toy",
                           tokenizer_spec="chars", max_len=max_len, tokenizer=char_tokenizer(),
                           entity_types=["gene", "chem"], packing=packing)
    table, _ = read_wordpiece(directory / f"{packing}.parquet")
    return table, meta, path


# -------------------------------------------------------------------------------- properties


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=documents(max_docs=7), max_len=st.integers(3, 30))
def test_stream_packing_keeps_every_word_and_mention_whole_and_maps_every_subword_back(docs, max_len):
    capacity = max_len - 2
    with tempfile.TemporaryDirectory() as tmp:
        table, meta, _ = build(docs, max_len, Path(tmp))
        document_table, document_meta, _ = build(docs, max_len, Path(tmp), "document")
    for split in ("train", "dev", "test"):
        rows = table[table["split"] == split].sort_values("sequence")
        assert rows["sequence"].tolist() == list(range(len(rows)))  # numbered along the split's stream
        in_split = [d for d in range(len(docs)) if split_of(d) == split]
        # the split's documents, in document order, one stream: no subword lost, duplicated or reordered
        stream_ids, stream_words = [], []
        columns = ["input_ids", "labels", "word_index", "doc_ids", "doc_index"]
        for ids, labels, words, doc_ids, doc_index in zip(*(rows[c] for c in columns), strict=True):
            ids, labels, words, doc_index = list(ids), list(labels), list(words), list(doc_index)
            assert len(ids) <= max_len and ids[0] == CHAR_VOCAB["[CLS]"] and ids[-1] == CHAR_VOCAB["[SEP]"]
            assert labels[0] == labels[-1] == IGNORE_LABEL and words[0] == words[-1] == NO_WORD
            assert doc_index[0] == doc_index[-1] == -1 and -1 not in doc_index[1:-1]
            inner = doc_index[1:-1]
            assert inner == sorted(inner) and set(inner) == set(range(len(doc_ids)))
            assert all(split_of(int(d.removeprefix("doc"))) == split for d in doc_ids)  # one split per stream
            stream_ids += ids[1:-1]
            stream_words += [(doc_ids[i], w) for i, w in zip(doc_index[1:-1], words[1:-1], strict=True)]
        assert stream_ids == [i for d in in_split for w in docs[d][0] for i in char_ids(w)]
        # every subword maps back to (document, word), in order
        assert stream_words == [(f"doc{d}", k) for d in in_split for k, w in enumerate(docs[d][0])
                                for _ in char_ids(w)]
        # a word or a mention spans two sequences only when it alone is longer than a sequence
        where: dict[tuple, set] = {}
        for k, (doc_ids, doc_index, words) in enumerate(zip(rows["doc_ids"], rows["doc_index"],
                                                            rows["word_index"], strict=True)):
            for i, w in zip(list(doc_index)[1:-1], list(words)[1:-1], strict=True):
                where.setdefault((doc_ids[i], w), set()).add(k)
        for d in in_split:
            words, tags = docs[d]
            for w, word in enumerate(words):
                if len(where[(f"doc{d}", w)]) > 1:
                    assert len(char_ids(word)) > capacity
            for start, end in mentions_of(tags):
                spanned = set().union(*(where[(f"doc{d}", w)] for w in range(start, end)))
                if len(spanned) > 1:
                    assert sum(len(char_ids(words[w])) for w in range(start, end)) > capacity
        # evaluation maps every word back: the gold labels as predictions give each document's tags
        sequences = split_sequences(table, split, len(meta["tags"]))
        tags = meta["tags"]
        out = words_from_sequences(sequences.docs, sequences.word_index, sequences.labels, sequences.labels,
                                   tags, doc_index=sequences.doc_index)
        assert dict(zip(out.doc_ids, out.gold, strict=True)) == {f"doc{d}": docs[d][1] for d in in_split}
        assert out.pred == out.gold
        # the counts of both packings, as this build and the other one made them
        counts = meta["sequence_counts"]
        assert counts["stream"][str(max_len)][split] == len(rows) == meta["counts"][split]["sequences"]
        assert counts["document"][str(max_len)][split] == document_meta["counts"][split]["sequences"]
        assert counts == document_meta["sequence_counts"]
        assert len(rows) <= document_meta["counts"][split]["sequences"]  # a stream never needs more
    assert set(counts["stream"]) == {str(max_len), str(PAPER_MAX_LEN)}
    # per-document tables carry the same columns: one document per sequence
    assert document_table["doc_ids"].map(len).eq(1).all()
    assert (document_table["doc_ids"].str[0] == document_table["doc_id"]).all()


def release_rule(word_sizes, word_outside, max_len):
    """The closing rule the paper's release applies to a stream (``create_ner_dataset``), word by word:
    a sequence closes when the next word does not fit, or after a word tagged O once it holds more than
    500 tokens ([CLS] and [SEP] counted). Returns each word's sequence."""
    sequence, tokens, out = 0, 2, []
    for size, outside in zip(word_sizes, word_outside, strict=True):
        if tokens + size > max_len:
            sequence, tokens = sequence + 1, 2
        out.append(sequence)
        tokens += size
        if tokens > RELEASE_CLOSE_TOKENS and outside:
            sequence, tokens = sequence + 1, 2
    return out


@settings(max_examples=200, deadline=None)
@given(data=st.data(), max_len=st.sampled_from([512, 505, 530]))
def test_stream_sequences_are_the_releases_wherever_the_release_splits_no_mention(data, max_len):
    # words of 1-40 subwords; a mention is a B word and 0-3 I words; O words in between
    kinds = data.draw(st.lists(st.tuples(st.booleans(), st.integers(0, 3)), min_size=1, max_size=120))
    tags = [t for mention, extra in kinds for t in (["B-x", *["I-x"] * extra] if mention else ["O"])]
    sizes = data.draw(st.lists(st.integers(1, 40), min_size=len(tags), max_size=len(tags)))
    release = release_rule(sizes, [t == "O" for t in tags], max_len)
    starts = [i for i, t in enumerate(tags) if t != "I-x"]
    assume(not any(release[i] != release[i - 1] for i, t in enumerate(tags) if t == "I-x"))
    outside = [tags[i] == "O" for i in starts]
    packing = pack_units(np.zeros(len(starts)), starts, sizes, max_len - 2, unit_outside=outside,
                         close_after=stream_close_after(max_len))
    first_subword = np.cumsum([0, *sizes[:-1]])
    assert packing.subword_sequence[first_subword].tolist() == release
    assert packing.n_sequences == max(release) + 1


def test_the_release_rule_on_a_constructed_stream():
    # 200 O words of 7 subwords at 512: the release closes after the 72nd word (2 + 72 * 7 = 506 > 500
    # tokens), so 72 + 72 + 56 words; without the early close 72 words already fill 506 of 512 tokens and
    # the 73rd (513) does not fit: the same here. Words of 5 subwords show the difference: the release
    # closes after 100 words (502 tokens), greedy filling would take 102 (512).
    for size, expected in ((7, [72, 72, 56]), (5, [100, 100])):
        sizes = [size] * 200
        packing = pack_units(np.zeros(200), np.arange(200), sizes, 510, unit_outside=np.ones(200, bool),
                             close_after=stream_close_after(512))
        assert np.bincount(packing.subword_sequence).tolist() == [n * size for n in expected]
        assert release_rule(sizes, [True] * 200, 512) == [k for k, n in enumerate(expected) for _ in range(n)]
    assert stream_close_after(512) == 498 and stream_close_after(64) is None  # no early close below 500


# -------------------------------------------------------------------------------- caps and gold


def test_stream_eval_cap_keeps_the_first_sequences_and_scores_only_whole_documents(tmp_path):
    docs = [(["ab", "cde", "f"], ["O", "B-gene", "O"]), (["ghij", "a"], ["B-chem", "I-chem"]),
            (["bc", "d", "e", "fg"], ["O", "O", "B-gene", "O"])] * 3
    path = tmp_path / "tokens.parquet"
    tokens_frame(docs, lambda d: "train" if d < 3 else "dev").to_parquet(path)
    build_wordpiece(path, tmp_path / "wp.parquet", None, dataset="toy", tokenizer_spec="chars", max_len=9,
                    tokenizer=char_tokenizer(), entity_types=["gene", "chem"], packing="stream")
    table, _ = read_wordpiece(tmp_path / "wp.parquet")
    dev = table[table["split"] == "dev"].sort_values("sequence")
    assert dev["doc_ids"].map(len).max() > 1  # sequences cross documents
    capped = cap_table(table, None, 2, "stream")
    kept = capped[capped["split"] == "dev"]
    assert kept["sequence"].tolist() == [0, 1]
    covered = covered_documents(table, capped)
    held = {d for ids in kept["doc_ids"] for d in ids}
    whole = set(covered.loc[covered["split"] == "dev", "doc_id"])
    cut = {d for ids in dev["doc_ids"].iloc[2:] for d in ids}
    assert whole == held - cut and whole  # the document the cap cut in two is left out
    task = load_task(tmp_path / "wp.parquet", path, None, 2)
    assert set(task.gold.loc[task.gold["split"] == "dev", "doc_id"]) == whole
    # scored words: exactly the words of the whole documents
    sequences = split_sequences(task.table, "dev", 5)
    gold = {doc: list(g["tag"]) for doc, g in task.gold[task.gold["split"] == "dev"].groupby("doc_id")}
    tags = ["O", "B-chem", "I-chem", "B-gene", "I-gene"]
    out = words_from_sequences(sequences.docs, sequences.word_index, sequences.labels, sequences.labels,
                               tags, gold, doc_index=sequences.doc_index)
    assert out.pred == out.gold and sorted(out.doc_ids) == sorted(whole)
    # a first document longer than the budget is still kept whole (as per-document caps do)
    docs = [(["ab", "cd", "ef", "gh", "ij"], ["O"] * 5), (["a"], ["O"]), (["b"], ["O"])]
    tokens_frame(docs).to_parquet(path)
    build_wordpiece(path, tmp_path / "long.parquet", None, dataset="toy", tokenizer_spec="chars", max_len=9,
                    tokenizer=char_tokenizer(), entity_types=["gene", "chem"], packing="stream")
    table, _ = read_wordpiece(tmp_path / "long.parquet")
    assert len(table) == 2 and list(table["doc_ids"].iloc[1]) == ["doc0", "doc1", "doc2"]
    capped = cap_table(table.assign(split="dev"), None, 1, "stream")
    assert len(capped) == 2  # not 1: doc0 would be scored nowhere
    assert set(covered_documents(table.assign(split="dev"), capped)["doc_id"]) == {"doc0", "doc1", "doc2"}


def test_old_tables_without_document_lists_read_as_one_document_per_sequence():
    table = pd.DataFrame({"split": ["dev"] * 2, "doc_id": ["b", "a"], "sequence": [0, 0],
                          "input_ids": [[2, 7, 3], [2, 8, 9, 3]],
                          "labels": [[-100, 0, -100], [-100, 1, 2, -100]],
                          "word_index": [[-1, 0, -1], [-1, 0, 1, -1]]})
    sequences = split_sequences(table, "dev", 3)
    assert sequences.docs == [("a",), ("b",)]
    assert [x.tolist() for x in sequences.doc_index] == [[-1, 0, 0, -1], [-1, 0, -1]]
    assert TaskData(table, ["O", "B-x", "I-x"]).tags[0] == "O"


# -------------------------------------------------------------------------------- the paper's counts


@pytest.fixture(scope="module")
def cll_tokens(mirror, tmp_path_factory):
    registry = load_registry(REPO / "config" / "corpora.yaml")
    raw, out = tmp_path_factory.mktemp("raw"), tmp_path_factory.mktemp("cll")
    for corpus in ("cll", "huner_splits", "huner_patches"):
        download_corpus(registry.corpus(corpus), raw / corpus, mirror, on_missing="fail")
    build_dataset(registry, "cll_cellline", raw / "cll", raw / "huner_splits" / "files", out,
                  patches_dir=raw / "huner_patches" / "files")
    return out / "tokens.parquet"


@pytest.mark.skipif(not CASED_VOCAB.is_file(), reason=f"{CASED_VOCAB} not present")
def test_cll_at_512_gives_the_papers_14_training_sequences_and_maps_every_word_back(cll_tokens, tmp_path):
    tokenizer = load_subword_tokenizer(str(CASED_VOCAB), False)
    meta = build_wordpiece(cll_tokens, tmp_path / "cll.parquet", None, dataset="cll_cellline",
                           tokenizer_spec="biobert_vocab", max_len=512, tokenizer=tokenizer,
                           entity_types=["cell_line"], packing="stream")
    # Supplemental Fig. 1: CLL 14 input sequences (training set); per document it would be 120
    assert meta["counts"]["train"]["sequences"] == 14
    assert meta["sequence_counts"]["document"]["512"]["train"] == 120
    assert sum(c["split_mentions"] + c["split_words"] for c in meta["counts"].values()) == 0
    table, _ = read_wordpiece(tmp_path / "cll.parquet")
    tokens = pd.read_parquet(cll_tokens)
    expected = {(row.split, row.doc_id, k) for (row_split, doc), group in tokens.groupby(["split", "doc_id"])
                for k, row in enumerate(group.sort_values(["sentence", "position"]).itertuples())}
    found = {(split, doc_ids[i], w) for split, doc_ids, index, words in
             zip(table["split"], table["doc_ids"], table["doc_index"], table["word_index"], strict=True)
             for i, w in zip(index, words, strict=True) if i >= 0}
    assert found == expected  # every word of every document, train, dev and test
    task = load_task(tmp_path / "cll.parquet", cll_tokens, None, None)
    for split in ("dev", "test"):
        sequences = split_sequences(task.table, split, len(task.tags))
        gold = {doc: list(g.sort_values("word_index")["tag"])
                for doc, g in task.gold[task.gold["split"] == split].groupby("doc_id")}
        out = words_from_sequences(sequences.docs, sequences.word_index, sequences.labels, sequences.labels,
                                   task.tags, gold, doc_index=sequences.doc_index)
        assert out.pred == out.gold
        assert len(out.doc_ids) == tokens[tokens["split"] == split]["doc_id"].nunique()


@pytest.mark.skipif(not CASED_VOCAB.is_file(), reason=f"{CASED_VOCAB} not present")
def test_the_comparison_shows_the_papers_count_beside_ours_at_512_whatever_the_tier(cll_tokens, tmp_path):
    from mtaal.results.compare import Reproduction, compare, load_reported
    from mtaal.results.store import SCHEMA

    tokenizer = load_subword_tokenizer(str(CASED_VOCAB), False)
    for packing in ("stream", "document"):  # a default-tier table: max_len 64, either packing
        build_wordpiece(cll_tokens, tmp_path / f"{packing}.parquet", None, dataset="cll_cellline",
                        tokenizer_spec="biobert_vocab", max_len=64, tokenizer=tokenizer,
                        entity_types=["cell_line"], packing=packing, encoder="biobert_vocab")
        counts = sequence_table([tmp_path / f"{packing}.parquet"])
        train = counts.set_index("split").loc["train"]
        assert train["packing"] == packing
        assert (train["stream_sequences_512"], train["document_sequences_512"]) == (14, 120)
        reported = tmp_path / "reported.csv"
        reported.write_text(
            "paper,table,row,column,system,dataset,setting,model,split,ablation_fraction,metric,statistic,"
            "value,printed,note\nmultitask,Section 6,CELL LINE / CLL,input sequences (training set),paper,"
            "cll_cellline,,biobert,train,0,train_sequences,value,14,14,\n")
        store = pd.DataFrame(columns=["paper", "experiment", *SCHEMA.names])
        rep = Reproduction(store=store, report_after_round={}, sequences=counts,
                           registry_types={"cll_cellline": "cell_line"})
        cell = compare(load_reported([reported]), rep, "default").iloc[0]
        assert (cell["reported"], cell["mean"], cell["second_mean"]) == (14, 14, 120)
        assert cell["judgement"] == "equal" and cell["second_metric"] == "train_sequences_per_document"
        assert cell["units"].startswith("max_len 512 subwords, one stream per training set")
