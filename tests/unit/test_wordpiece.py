import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers.implementations import BertWordPieceTokenizer

from mtaal.errors import ConfigError, CorpusFormatError
from mtaal.multitask.encoder_specs import (
    TokenizerError,
    resolve_encoder_dir,
    resolve_tokenizer,
    tokenizer_spec_of,
    vocab_is_cased,
)
from mtaal.multitask.labels import IGNORE_LABEL, NO_WORD, tag_set, word_predictions
from mtaal.multitask.packing import pack_document, pack_units
from mtaal.multitask.sequence_table import sequence_table, write_sequence_table
from mtaal.multitask.subwords import SubwordTokenizer, load_subword_tokenizer
from mtaal.multitask.wordpiece import build_wordpiece, read_wordpiece

# The shared folder beside the repository (docs/corpora.md, "Corpus mirror").
CASED_VOCAB = Path(__file__).resolve().parents[3] / "shared" / "vocab" / "bert-base-cased-vocab.txt"
needs_cased_vocab = pytest.mark.skipif(not CASED_VOCAB.is_file(), reason=f"{CASED_VOCAB} not present")

# A character-level WordPiece vocabulary: a word of n letters is exactly n subwords ("abc" -> a ##b ##c),
# and a control character alone encodes to nothing (-> [UNK]).
LETTERS = "abcdefghij"
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHAR_VOCAB = {t: i for i, t in enumerate(SPECIALS + list(LETTERS) + [f"##{c}" for c in LETTERS])}
UNK_WORD = "\x07"


def char_tokenizer() -> SubwordTokenizer:
    backend = BertWordPieceTokenizer(dict(CHAR_VOCAB), lowercase=False)._tokenizer
    return SubwordTokenizer.from_backend(backend, None, "chars")


def char_ids(word: str) -> list[int]:
    if word == UNK_WORD:
        return [CHAR_VOCAB["[UNK]"]]
    return [CHAR_VOCAB[c if i == 0 else f"##{c}"] for i, c in enumerate(word)]


def tokens_frame(docs: list[tuple[list[str], list[str]]], split_of=lambda d: "train") -> pd.DataFrame:
    rows = []
    for d, (words, tags) in enumerate(docs):
        sentence, position = 0, 0
        for i, (word, tag) in enumerate(zip(words, tags, strict=True)):
            if i and i % 7 == 0:  # a few sentences per document
                sentence, position = sentence + 1, 0
            rows.append([f"doc{d}", split_of(d), sentence, position, word, 0, 0, tag, None])
            position += 1
    columns = ["doc_id", "split", "sentence", "position", "token", "start", "end", "tag", "concept_id"]
    frame = pd.DataFrame(rows, columns=columns).astype({"sentence": "int32", "position": "int32"})
    return frame.astype({c: "str" for c in ["doc_id", "split", "token", "tag"]})


def mentions_of(tags: list[str]) -> list[tuple[int, int]]:
    """(first word, end word) of every mention: a B-x and the I-x words after it."""
    spans, start = [], None
    for i, tag in enumerate([*tags, "O"]):
        if start is not None and not (tag.startswith("I-") and tag[2:] == tags[start][2:]):
            spans.append((start, i))
            start = None
        if tag.startswith("B-"):
            start = i
    return spans


@st.composite
def documents(draw, max_docs=3):
    docs = []
    for _ in range(draw(st.integers(1, max_docs))):
        words, tags = [], []
        segments = draw(st.lists(st.tuples(st.sampled_from(["O", "O", "gene", "chem"]), st.integers(1, 5)),
                                 min_size=1, max_size=12))
        for kind, span in segments:
            for i in range(span):
                if draw(st.integers(0, 19)) == 0:
                    words.append(UNK_WORD)
                else:
                    length = draw(st.integers(1, 9))
                    words.append("".join(draw(st.lists(st.sampled_from(LETTERS), min_size=length,
                                                        max_size=length))))
                tags.append("O" if kind == "O" else f"{'B' if i == 0 else 'I'}-{kind}")
        docs.append((words, tags))
    return docs


def build(docs, max_len, directory: Path, split_of=lambda d: "train", packing="document", **kwargs):
    """Per-document packing unless asked (stream packing: tests/unit/test_multitask_stream.py)."""
    path = directory / "tokens.parquet"
    tokens_frame(docs, split_of).to_parquet(path)
    meta = build_wordpiece(path, directory / "wp.parquet", directory / "wp.json", dataset="toy",
                           tokenizer_spec="chars", max_len=max_len, tokenizer=char_tokenizer(),
                           entity_types=["gene", "chem"], packing=packing, **kwargs)
    table, parquet_meta = read_wordpiece(directory / "wp.parquet")
    assert parquet_meta == meta == json.loads((directory / "wp.json").read_text())
    return table, meta


# -------------------------------------------------------------------------------- properties


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=documents(), max_len=st.integers(3, 30))
def test_packing_properties(docs, max_len):
    capacity = max_len - 2
    with tempfile.TemporaryDirectory() as tmp:
        table, meta = build(docs, max_len, Path(tmp))
    tags = meta["tags"]
    assert tags == ["O", "B-chem", "I-chem", "B-gene", "I-gene"]
    expected_split_words = expected_split_mentions = 0
    for d, (words, word_tags) in enumerate(docs):
        rows = table[table["doc_id"] == f"doc{d}"]
        assert rows["sequence"].tolist() == list(range(len(rows)))
        seq_ids, seq_words, seq_labels, lengths = [], [], [], []
        for k, (ids, labels, index) in enumerate(zip(rows["input_ids"], rows["labels"], rows["word_index"],
                                                     strict=True)):
            ids, labels, index = list(ids), list(labels), list(index)
            assert len(ids) == len(labels) == len(index) <= max_len
            assert ids[0] == CHAR_VOCAB["[CLS]"] and ids[-1] == CHAR_VOCAB["[SEP]"]
            assert labels[0] == labels[-1] == IGNORE_LABEL and index[0] == index[-1] == NO_WORD
            assert NO_WORD not in index[1:-1] and IGNORE_LABEL not in labels[1:-1]
            assert rows["n_words"].iloc[k] == len(set(index[1:-1]))
            seq_ids += ids[1:-1]
            seq_words.append(index[1:-1])
            seq_labels += labels[1:-1]
            lengths.append(len(ids) - 2)
        # no subword lost or duplicated, in order; the word index map round-trips to the words
        assert seq_ids == [i for w in words for i in char_ids(w)]
        flat_words = [w for s in seq_words for w in s]
        assert flat_words == [i for i, w in enumerate(words) for _ in char_ids(w)]
        # a word stays in one sequence unless it alone is longer than a sequence
        where = {}
        for k, s in enumerate(seq_words):
            for w in s:
                where.setdefault(w, set()).add(k)
        for w, word in enumerate(words):
            if len(where[w]) > 1:
                assert len(char_ids(word)) > capacity
                expected_split_words += 1
        # a mention stays in one sequence unless it alone is longer than a sequence
        for start, end in mentions_of(word_tags):
            spanned = set().union(*(where[w] for w in range(start, end)))
            if len(spanned) > 1:
                assert sum(len(char_ids(words[w])) for w in range(start, end)) > capacity
                expected_split_mentions += 1
        # greedy: the unit opening a sequence did not fit in the one before (unless cut)
        unit_size = {}
        for start, end in mentions_of(word_tags):
            unit_size[start] = sum(len(char_ids(words[w])) for w in range(start, end))
        for k in range(1, len(seq_words)):
            first = seq_words[k][0]
            previous = seq_words[k - 1]
            if first in previous or (word_tags[first].startswith("I-") and first - 1 in previous):
                continue  # a cut inside an over-long word or mention
            size = unit_size.get(first, len(char_ids(words[first])))
            assert lengths[k - 1] + size > capacity
        # labels: the word's tag on every subword; last-subword decoding gives the word tags back
        gold = [tags.index(t) for t in word_tags]
        assert seq_labels == [gold[w] for w in flat_words]
        decoded = word_predictions([list(x) for x in rows["labels"]], [list(x) for x in rows["word_index"]])
        assert decoded.tolist() == gold
    counts = meta["counts"]["train"]
    assert counts["split_words"] == expected_split_words
    assert counts["split_mentions"] == expected_split_mentions
    assert counts["sequences"] == len(table)
    assert counts["words"] == sum(len(w) for w, _ in docs)
    assert counts["unk_words"] == sum(w == UNK_WORD for words, _ in docs for w in words)


def naive_pack(unit_doc, unit_first_word, word_sizes, capacity):
    """One Python step per unit: the obvious greedy loop, to check the binary-search version against."""
    bounds = [*unit_first_word, len(word_sizes)]
    seq, fill, previous, out = -1, 0, None, []
    for u, doc in enumerate(unit_doc):
        sizes = word_sizes[bounds[u] : bounds[u + 1]]
        if doc != previous:
            previous, seq, fill = doc, seq + 1, 0
        if fill + sum(sizes) <= capacity:
            out += [seq] * sum(sizes)
            fill += sum(sizes)
        elif sum(sizes) <= capacity:
            seq, fill = seq + 1, sum(sizes)
            out += [seq] * sum(sizes)
        else:
            if fill:
                seq, fill = seq + 1, 0
            for length in sizes:
                if fill + length <= capacity:
                    out += [seq] * length
                    fill += length
                elif length <= capacity:
                    seq, fill = seq + 1, length
                    out += [seq] * length
                else:  # cut the word: fresh sequences of ``capacity`` subwords
                    if fill:
                        seq, fill = seq + 1, 0
                    for _ in range(length):
                        if fill == capacity:
                            seq, fill = seq + 1, 0
                        out.append(seq)
                        fill += 1
    return out, seq + 1


@settings(max_examples=300, deadline=None)
@given(data=st.data(), capacity=st.integers(1, 20))
def test_pack_units_matches_naive_greedy(data, capacity):
    word_sizes = data.draw(st.lists(st.integers(1, 12), min_size=1, max_size=60))
    inner = st.sets(st.integers(1, len(word_sizes) - 1)) if len(word_sizes) > 1 else st.just(set())
    starts = [0, *sorted(data.draw(inner))]
    doc_breaks = data.draw(st.lists(st.booleans(), min_size=len(starts), max_size=len(starts)))
    unit_doc = np.cumsum([0, *doc_breaks[1:]]).tolist()
    packing = pack_units(unit_doc, starts, word_sizes, capacity)
    expected, n = naive_pack(unit_doc, starts, word_sizes, capacity)
    assert packing.subword_sequence.tolist() == expected
    assert packing.n_sequences == n
    assert np.bincount(packing.subword_sequence).max() <= capacity


def test_pack_document_examples():
    # max_len 6: 4 subwords per sequence; the mention (2 + 2) moves whole to the next sequence
    assert pack_document([1, 2, 2], ["O", "B-gene", "I-gene"], 6) == [[0], [1, 2]]
    # an over-long mention is cut between its words, an over-long word inside itself
    assert pack_document([3, 3], ["B-gene", "I-gene"], 6) == [[0], [1]]
    assert pack_document([1, 9], ["O", "O"], 6) == [[0], [1], [1], [1]]
    # adjacent mentions are separate units
    assert pack_document([2, 2, 2], ["B-gene", "B-gene", "I-gene"], 6) == [[0], [1, 2]]
    with pytest.raises(ConfigError):
        pack_document([1], ["O"], 2)


def test_word_predictions_take_the_last_subword():
    preds = [9, 1, 2, 3, 4, 5, 9]
    index = [-1, 0, 0, 1, 2, 2, -1]
    assert word_predictions(preds, index).tolist() == [2, 3, 5]
    # ragged sequences of one document, a word cut over two sequences, padded 2-D input
    ragged = word_predictions([[9, 1, 2, 9], [9, 3, 4, 9]], [[-1, 0, 1, -1], [-1, 1, 2, -1]])
    assert ragged.tolist() == [1, 3, 4]
    padded = np.array([[9, 1, 2, 9, 0], [9, 3, 9, 0, 0]])
    assert word_predictions(padded, [[-1, 0, 1, -1, -1], [-1, 2, -1, -1, -1]]).tolist() == [1, 2, 3]
    assert word_predictions(np.array(["x", "B", "I", "x"], dtype=object), [-1, 0, 0, -1]).tolist() == ["I"]
    assert word_predictions([1], [1], n_words=3, fill=-7).tolist() == [-7, 1, -7]
    with pytest.raises(ValueError):
        word_predictions([1, 2], [0])


def test_tag_set_covers_types_missing_from_the_data(tmp_path):
    assert tag_set(["species", "gene", "gene"]) == ["O", "B-gene", "I-gene", "B-species", "I-species"]
    path = tmp_path / "tokens.parquet"
    tokens_frame([(["aa", "bb"], ["B-species", "O"])]).to_parquet(path)
    meta = build_wordpiece(path, tmp_path / "wp.parquet", None, dataset="toy", tokenizer_spec="chars",
                           max_len=8, tokenizer=char_tokenizer(), entity_types=["species"])
    assert meta["tags"] == ["O", "B-species", "I-species"]
    with pytest.raises(CorpusFormatError, match="entity types"):
        build_wordpiece(path, tmp_path / "wp.parquet", None, dataset="toy", tokenizer_spec="chars",
                        max_len=8, tokenizer=char_tokenizer(), entity_types=["gene"])


# -------------------------------------------------------------------------------- dataset files


def test_document_order_splits_and_sequence_table(tmp_path):
    docs = [(["abc", "de", "f"], ["O", "B-gene", "I-gene"]), (["ab"], ["O"]), (["a", "b"], ["B-chem", "O"])]
    split_of = {0: "train", 1: "test", 2: "train"}.get
    frame = tokens_frame(docs, split_of)
    # rows out of order within documents must not matter; documents keep their first appearance order
    shuffled = frame.iloc[[1, 0, 2, 3, 5, 4]]
    shuffled.to_parquet(tmp_path / "tokens.parquet")
    meta = build_wordpiece(tmp_path / "tokens.parquet", tmp_path / "a.parquet", tmp_path / "a.json",
                           dataset="toy", tokenizer_spec="chars", max_len=5, tokenizer=char_tokenizer(),
                           encoder="chars", packing="document")
    table, _ = read_wordpiece(tmp_path / "a.parquet")
    assert table["doc_id"].tolist() == ["doc0", "doc0", "doc1", "doc2"]
    assert table["split"].tolist() == ["train", "train", "test", "train"]
    assert [list(x) for x in table["word_index"]] == [[-1, 0, 0, 0, -1], [-1, 1, 1, 2, -1], [-1, 0, 0, -1],
                                                      [-1, 0, 1, -1]]
    schema = pq.read_schema(tmp_path / "a.parquet")
    assert str(schema.field("input_ids").type) == "list<element: int32>"
    assert str(schema.field("labels").type) == "list<element: int16>"
    assert meta["counts"]["train"]["sequences"] == 3 and meta["counts"]["dev"]["sequences"] == 0
    # an empty dataset (a skipped corpus) still gives a file, and rows of zeros in the table
    tokens_frame([]).to_parquet(tmp_path / "e.parquet")
    empty = build_wordpiece(tmp_path / "e.parquet", tmp_path / "b.parquet", None, dataset="empty",
                            tokenizer_spec="chars", max_len=5, tokenizer=char_tokenizer(), encoder="chars")
    assert empty["tags"] == ["O"] and len(read_wordpiece(tmp_path / "b.parquet")[0]) == 0
    summary = write_sequence_table([tmp_path / "a.parquet", tmp_path / "b.parquet"], tmp_path / "t.parquet",
                                   tmp_path / "t.md")
    assert summary[["dataset", "split"]].values.tolist() == [
        ["empty", "train"], ["empty", "dev"], ["empty", "test"],
        ["toy", "train"], ["toy", "dev"], ["toy", "test"],
    ]
    assert summary.set_index(["dataset", "split"]).loc[("toy", "train"), "sequences"] == 3
    assert "| toy" in (tmp_path / "t.md").read_text()
    assert sequence_table([tmp_path / "a.parquet"])["subwords"].sum() == 10


def test_missing_column_names_the_file(tmp_path):
    path = tmp_path / "broken_tokens.parquet"
    tokens_frame([(["ab"], ["O"])]).drop(columns=["tag"]).to_parquet(path)
    with pytest.raises(CorpusFormatError, match=r"broken_tokens\.parquet.*missing tag"):
        build_wordpiece(path, tmp_path / "wp.parquet", None, dataset="toy", tokenizer_spec="chars", max_len=8,
                        tokenizer=char_tokenizer())
    assert not (tmp_path / "wp.parquet").exists()


def test_bad_tags_duplicates_and_max_len_are_reported(tmp_path):
    path = tmp_path / "tokens.parquet"
    tokens_frame([(["ab", "cd"], ["O", "X-gene"])]).to_parquet(path)
    kwargs = {"dataset": "toy", "tokenizer_spec": "chars", "tokenizer": char_tokenizer()}
    with pytest.raises(CorpusFormatError, match=r"tokens\.parquet.*IOB2.*X-gene"):
        build_wordpiece(path, tmp_path / "wp.parquet", None, max_len=8, **kwargs)
    frame = tokens_frame([(["ab", "cd"], ["O", "O"])])
    pd.concat([frame, frame.iloc[[1]]]).to_parquet(path)
    with pytest.raises(CorpusFormatError, match="twice"):
        build_wordpiece(path, tmp_path / "wp.parquet", None, max_len=8, **kwargs)
    with pytest.raises(ConfigError, match="max_len"):
        build_wordpiece(path, tmp_path / "wp.parquet", None, max_len=2, **kwargs)
    with pytest.raises(CorpusFormatError, match="not-there"):
        build_wordpiece(tmp_path / "not-there.parquet", tmp_path / "wp.parquet", None, max_len=8, **kwargs)


# -------------------------------------------------------------------------------- real tokenizers


def subword_strings(tokenizer, word):
    return tokenizer.convert_ids_to_tokens(tokenizer(word, add_special_tokens=False)["input_ids"])


WORDS = ["BRCA1", "p53", "IL-2R", "naïve", "Über", "α-synuclein", UNK_WORD, "", "TNF-alpha", "HeLa", "\u200b"]


def test_packaged_minilm_is_uncased_and_matches_transformers():
    tokenizer = resolve_tokenizer("minilm")
    assert subword_strings(tokenizer, "BRCA1") == ["br", "##ca", "##1"]
    light = load_subword_tokenizer("minilm")
    assert light.lowercase is True
    pieces = light.encode_words(WORDS)
    for i, word in enumerate(WORDS):
        expected = tokenizer(word, add_special_tokens=False)["input_ids"] or [tokenizer.unk_token_id]
        assert pieces.ids[pieces.offsets[i] : pieces.offsets[i + 1]].tolist() == expected, word
    assert pieces.unk.tolist() == [w in (UNK_WORD, "", "\u200b") for w in WORDS]
    assert (light.cls_token_id, light.sep_token_id) == (tokenizer.cls_token_id, tokenizer.sep_token_id)
    # the packaged tokenizer.json pads and truncates to 128: both must be off
    assert len(light.encode_words(["a " * 300]).ids) == 300
    with pytest.raises(ConfigError, match="lower-cases"):
        load_subword_tokenizer("minilm", lowercase=False)
    assert (resolve_encoder_dir("minilm") / "config.json").is_file()


@needs_cased_vocab
def test_cased_vocab_file_keeps_case_and_matches_transformers():
    assert vocab_is_cased(CASED_VOCAB)
    tokenizer = resolve_tokenizer(str(CASED_VOCAB))
    assert len(tokenizer.get_vocab()) == 28996
    assert subword_strings(tokenizer, "BRCA1") == ["BR", "##CA", "##1"]
    light = load_subword_tokenizer(CASED_VOCAB)
    assert light.lowercase is False and light.vocab_size == 28996
    pieces = light.encode_words(WORDS)
    for i, word in enumerate(WORDS):
        expected = tokenizer(word, add_special_tokens=False)["input_ids"] or [tokenizer.unk_token_id]
        assert pieces.ids[pieces.offsets[i] : pieces.offsets[i + 1]].tolist() == expected, word
    lowered = resolve_tokenizer(str(CASED_VOCAB), lowercase=True)
    assert subword_strings(lowered, "BRCA1") != ["BR", "##CA", "##1"]
    with pytest.raises(TokenizerError, match="vocabulary, not model weights"):
        resolve_encoder_dir(CASED_VOCAB)


@needs_cased_vocab
@pytest.mark.parametrize("with_tokenizer_json", [False, True])
def test_cased_vocabulary_that_transformers_lower_cases_is_repaired(tmp_path, with_tokenizer_json):
    # dmis-lab/biobert-base-cased-v1.1's layout: a cased vocab.txt and no casing in tokenizer_config.json,
    # so transformers lower-cases by default; lowercase=False (the paper config) must give cased pieces.
    folder = tmp_path / "biobert"
    folder.mkdir()
    (folder / "vocab.txt").write_bytes(CASED_VOCAB.read_bytes())
    (folder / "config.json").write_text('{"model_type": "bert"}')
    (folder / "tokenizer_config.json").write_text("{}")
    if with_tokenizer_json:
        resolve_tokenizer(folder).save_pretrained(folder)
    assert subword_strings(resolve_tokenizer(folder), "BRCA1") == ["br", "##ca", "##1"]
    repaired = resolve_tokenizer(folder, lowercase=False)
    assert subword_strings(repaired, "BRCA1") == ["BR", "##CA", "##1"]
    light = load_subword_tokenizer(folder, lowercase=False)
    assert light.lowercase is False
    expected = repaired("BRCA1", add_special_tokens=False)["input_ids"]
    assert light.encode_words(["BRCA1"]).ids.tolist() == expected


@needs_cased_vocab
def test_cased_and_uncased_runs_on_one_file(tmp_path):
    path = tmp_path / "tokens.parquet"
    tokens_frame([(["BRCA1", "binds", "\x00", "HeLa"], ["B-gene", "O", "O", "O"])]).to_parquet(path)
    cased = build_wordpiece(path, tmp_path / "c.parquet", None, dataset="toy", tokenizer_spec=CASED_VOCAB,
                            max_len=16, entity_types=["gene"])
    uncased = build_wordpiece(path, tmp_path / "u.parquet", None, dataset="toy", tokenizer_spec="minilm",
                              max_len=16, entity_types=["gene"])
    assert cased["lowercase"] is False and uncased["lowercase"] is True
    assert cased["counts"]["train"]["unk_words"] == uncased["counts"]["train"]["unk_words"] == 1
    table, _ = read_wordpiece(tmp_path / "c.parquet")
    assert list(table["labels"][0]) == [-100, 1, 1, 1, 0, 0, 0, 0, 0, -100]
    assert word_predictions(table["labels"][0], table["word_index"][0]).tolist() == [1, 0, 0, 0]


def test_unavailable_specs_fail_clearly(tmp_path):
    with pytest.raises(TokenizerError, match="not in the local Hugging Face cache"):
        resolve_tokenizer("no-such-org/no-such-model-xyz", local_files_only=True)
    with pytest.raises(TokenizerError, match="not in the local Hugging Face cache"):
        resolve_encoder_dir("no-such-org/no-such-model-xyz")
    assert resolve_encoder_dir("no-such-org/no-such-model-xyz", local_files_only=False) == (
        "no-such-org/no-such-model-xyz"
    )
    with pytest.raises(TokenizerError, match="no such file"):
        resolve_tokenizer(str(tmp_path / "missing" / "vocab.txt"))
    with pytest.raises(TokenizerError, match=r"no tokenizer\.json"):
        resolve_tokenizer(str(tmp_path))
    (tmp_path / "vocab.txt").write_text("[PAD]\nhello\n")
    with pytest.raises(TokenizerError, match="not a BERT WordPiece vocabulary"):
        load_subword_tokenizer(tmp_path / "vocab.txt")


def test_directory_with_a_bare_vocab(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join([*SPECIALS, "hello", "##s"]) + "\n")
    light = load_subword_tokenizer(tmp_path)
    assert light.lowercase is True  # no upper-case pieces: an uncased vocabulary
    assert light.encode_words(["Hellos"]).ids.tolist() == [5, 6]
    assert resolve_tokenizer(tmp_path).convert_ids_to_tokens([5, 6]) == ["hello", "##s"]


def test_tokenizer_spec_of_config_entries():
    assert tokenizer_spec_of("minilm") == ("minilm", None)
    assert tokenizer_spec_of({"model": "minilm"}) == ("minilm", None)
    assert tokenizer_spec_of({"model": "dmis-lab/biobert-base-cased-v1.1", "tokenizer": "v.txt",
                              "lowercase": False}) == ("v.txt", False)
    with pytest.raises(ConfigError):
        tokenizer_spec_of({"lowercase": True})


def test_tokenizer_candidates_take_a_local_copy_first_then_the_hub_id(tmp_path):
    vocab = tmp_path / "vocab.txt"
    candidates = {"model": None, "tokenizer": [str(vocab), "dmis-lab/biobert-base-cased-v1.1"],
                  "lowercase": False}
    assert tokenizer_spec_of(candidates) == ("dmis-lab/biobert-base-cased-v1.1", False)
    vocab.write_text("[PAD]\n")
    assert tokenizer_spec_of(candidates) == (str(vocab), False)
    with pytest.raises(TokenizerError, match="none of these paths exists"):
        tokenizer_spec_of({"tokenizer": [str(tmp_path / "a.txt"), str(tmp_path / "b" / "vocab.txt")]})


def test_a_pinned_revision_picks_that_snapshot_of_a_cached_hub_model(tmp_path, monkeypatch):
    from huggingface_hub import constants

    repo = tmp_path / "models--org--tagger"
    main, pinned = "a" * 40, "b" * 40
    for commit in (main, pinned):
        (repo / "snapshots" / commit).mkdir(parents=True)
        (repo / "snapshots" / commit / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(main)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    assert resolve_encoder_dir("org/tagger").name == main
    assert resolve_encoder_dir("org/tagger", revision=pinned).name == pinned
    with pytest.raises(TokenizerError, match=f"at revision {'c' * 40}.*--revision {'c' * 40}"):
        resolve_encoder_dir("org/tagger", revision="c" * 40)
