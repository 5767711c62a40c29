"""Word-level (last subword) and strict entity-level scores of the multitask tagger."""


import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtaal.multitask.evaluation import (
    ALL_O_METRICS,
    METRICS,
    all_outside_scores,
    entity_scores,
    first_subword_labels,
    last_subword_predictions,
    score_words,
    word_counts,
    words_from_sequences,
)

TAGS = ["O", "B-x", "I-x", "B-y", "I-y"]


def test_last_subword_wins_for_predictions_first_for_gold():
    # [CLS] w0 w0 w1 w2 w2 w2 [SEP]
    word_index = [-1, 0, 0, 1, 2, 2, 2, -1]
    predicted = [4, 1, 0, 3, 0, 0, 2, 4]
    labels = [-100, 1, 2, 0, 1, 2, 2, -100]
    assert last_subword_predictions(word_index, predicted) == {0: 0, 1: 3, 2: 2}
    assert first_subword_labels(word_index, labels) == {0: 1, 1: 0, 2: 1}


def test_release_decoding_reads_each_word_at_its_first_subword():
    # The authors' predict() loops over subwords in reverse, so the first subword's label is kept.
    word_index = [-1, 0, 0, 1, 2, 2, 2, -1]
    predicted = [4, 1, 0, 3, 0, 0, 2, 4]
    assert last_subword_predictions(word_index, predicted, "first") == {0: 1, 1: 3, 2: 0}
    # across sequences too: word 1 starts in sequence 0 (predicted B-x there) and ends in sequence 1 (O)
    words = words_from_sequences(["d", "d"], [[-1, 0, 1, 1, -1], [-1, 1, 2, -1]],
                                 [[-100, 0, 1, 1, -100], [-100, 1, 0, -100]],
                                 [[0, 0, 1, 0, 0], [0, 0, 0, 0]], TAGS, decoding="first")
    assert words.pred == [["O", "B-x", "O"]]
    with pytest.raises(ValueError, match="decoding"):
        last_subword_predictions(word_index, predicted, "middle")


def test_words_from_sequences_joins_a_documents_sequences_in_word_order():
    # doc d has words 0..3 spread over two sequences given out of order; doc e one sequence.
    doc_ids = ["d", "e", "d"]
    word_index = [[-1, 2, 3, 3, -1], [-1, 0, -1], [-1, 0, 1, 1, -1]]
    labels = [[-100, 3, 1, 2, -100], [-100, 0, -100], [-100, 0, 1, 2, -100]]
    predicted = [[0, 3, 0, 1, 0], [0, 1, 0], [0, 0, 2, 1, 0]]
    words = words_from_sequences(doc_ids, word_index, labels, predicted, TAGS)
    assert words.doc_ids == ["d", "e"]
    assert words.gold == [["O", "B-x", "B-y", "B-x"], ["O"]]
    assert words.pred == [["O", "B-x", "B-y", "B-x"], ["B-x"]]


def test_a_word_cut_over_two_sequences_is_read_at_its_last_subword():
    # word 1 has three subwords: two end sequence 0, one starts sequence 1
    words = words_from_sequences(
        ["d", "d"],
        [[-1, 0, 1, 1, -1], [-1, 1, 2, -1]],
        [[-100, 0, 1, 1, -100], [-100, 1, 0, -100]],
        [[0, 0, 0, 0, 0], [0, 1, 0, 0]],
        TAGS,
    )
    assert words.gold == [["O", "B-x", "O"]]
    assert words.pred == [["O", "B-x", "O"]]


def test_truncated_words_count_as_predicted_o_when_full_gold_is_given():
    # The sequence holds words 0-1 of a 4-word document; words 2-3 were cut off.
    gold_tags = {"d": ["B-x", "O", "B-y", "I-y"], "lost": ["B-x"]}
    words = words_from_sequences(
        ["d"], [[-1, 0, 1, -1]], [[-100, 1, 0, -100]], [[0, 1, 0, 0]], TAGS, gold_tags
    )
    assert words.doc_ids == ["d", "lost"]
    assert words.pred == [["B-x", "O", "O", "O"], ["O"]]
    counts = word_counts(words.gold, words.pred)
    assert (counts.tp, counts.n_pred, counts.n_gold) == (1, 1, 4)


def test_word_level_is_micro_over_non_o_tags():
    gold = [["B-x", "I-x", "O", "B-y", "O"]]
    pred = [["B-x", "B-x", "B-y", "B-y", "O"]]
    # tp: words 0 and 3; predicted non-O: 4; gold non-O: 3 (the O/O word counts nowhere)
    scores = score_words(gold, pred)
    assert scores["word_precision"] == pytest.approx(2 / 4)
    assert scores["word_recall"] == pytest.approx(2 / 3)
    assert scores["word_f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_paper_word_level_strips_b_i_prefixes():
    gold = [["B-x", "I-x", "O", "B-y", "O"]]
    pred = [["B-x", "B-x", "B-y", "I-y", "O"]]
    # stripped: gold x x O y O, pred x x y y O -> tp 3 (words 0, 1, 3), predicted 4, gold 3
    scores = score_words(gold, pred)
    assert scores["word_io_precision"] == pytest.approx(3 / 4)
    assert scores["word_io_recall"] == pytest.approx(1.0)
    assert scores["word_io_f1"] == pytest.approx(2 * 0.75 / 1.75)
    # the tag-strict variant counts B-x for I-x and I-y for B-y as misses
    assert scores["word_precision"] == pytest.approx(1 / 4)


def test_paper_word_level_keeps_entity_types_apart():
    # B-x predicted as B-y stays a miss after stripping: micro over types, not entity vs O
    scores = score_words([["B-x", "I-x"]], [["B-y", "I-x"]])
    assert scores["word_io_precision"] == pytest.approx(1 / 2)
    assert scores["word_io_recall"] == pytest.approx(1 / 2)


def test_paper_word_level_matches_sklearn_micro_over_entity_labels():
    # the authors' evaluate.py: sklearn micro F1 over the stripped entity labels, O excluded
    from sklearn.metrics import f1_score, precision_score

    gold = [["B-x", "I-x", "O", "B-y", "I-y", "O", "B-x"]]
    pred = [["I-x", "O", "B-x", "B-y", "B-x", "O", "B-x"]]
    flat_gold = [t[2:] if t != "O" else t for t in gold[0]]
    flat_pred = [t[2:] if t != "O" else t for t in pred[0]]
    scores = score_words(gold, pred)
    expected_f1 = f1_score(flat_gold, flat_pred, average="micro", labels=["x", "y"])
    assert scores["word_io_f1"] == pytest.approx(expected_f1)
    assert scores["word_io_precision"] == pytest.approx(
        precision_score(flat_gold, flat_pred, average="micro", labels=["x", "y"])
    )


def test_all_o_scores_every_metric_on_the_same_gold():
    gold = [["B-x", "I-x", "O", "O"], ["O", "B-y"]]
    nothing = all_outside_scores(gold)
    assert set(nothing) == set(ALL_O_METRICS)
    assert all(value == 0.0 for value in nothing.values())  # no metric here rewards O tokens
    scored = score_words(gold, [["O"] * 4, ["O"] * 2])
    assert nothing == {"all_o_" + m: v for m, v in scored.items() if m in METRICS}


def test_entity_level_keeps_gold_first():
    gold = [["B-x", "I-x", "O", "B-y"]]
    pred = [["B-x", "I-x", "O", "O"]]
    # one predicted entity, correct; two gold entities: P = 1, R = 1/2 (a swap would give P 1/2, R 1)
    p, r, f = entity_scores(gold, pred)
    assert (p, r) == (pytest.approx(1.0), pytest.approx(0.5))
    assert f == pytest.approx(2 / 3)


def test_entity_level_is_strict_iob2():
    gold = [["B-x", "I-x", "O", "B-y"]]
    pred = [["I-x", "I-x", "O", "B-y"]]
    # strict IOB2: an entity must open with B-; the I-x I-x run is no entity (conlleval would count it)
    p, r, _ = entity_scores(gold, pred)
    assert (p, r) == (pytest.approx(1.0), pytest.approx(0.5))
    # boundaries must match exactly
    p, r, _ = entity_scores([["B-x", "I-x", "I-x"]], [["B-x", "I-x", "O"]])
    assert (p, r) == (0.0, 0.0)


def test_no_entities_anywhere_scores_zero():
    assert entity_scores([["O", "O"]], [["O", "O"]]) == (0.0, 0.0, 0.0)
    assert score_words([["O"]], [["O"]])["word_f1"] == 0.0


@given(st.lists(st.lists(st.sampled_from(TAGS), min_size=1, max_size=6), min_size=1, max_size=5), st.data())
def test_word_scores_swap_precision_and_recall_when_arguments_swap(gold, data):
    pred = [data.draw(st.lists(st.sampled_from(TAGS), min_size=len(s), max_size=len(s))) for s in gold]
    forward, backward = word_counts(gold, pred), word_counts(pred, gold)
    assert forward.precision == backward.recall and forward.recall == backward.precision
    assert 0.0 <= forward.f1 <= 1.0


