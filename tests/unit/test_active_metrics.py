"""Scores against values worked out by hand (reasoning in the comments)."""

import math

import pytest

from mtaal.active.metrics import (
    ALL_O_METRICS,
    all_outside_scores,
    concept_mentions,
    nen_scores,
    ner_entities,
    ner_scores,
    release_chunks,
    release_conlleval_f1,
    release_nen_token_accuracy_batch_mean,
    release_ner_f1_batch_mean,
)
from mtaal.scoring import PRF


def test_prf_zero_denominators_give_zero():
    assert (PRF(0, 0, 0).precision, PRF(0, 0, 0).recall, PRF(0, 0, 0).f1) == (0.0, 0.0, 0.0)
    assert PRF(0, 0, 3).as_dict()["recall"] == 0.0


def test_ner_scores_micro_and_per_type():
    gold = [["B-D", "I-D", "O", "B-C"], ["O", "B-D", "O"]]
    pred = [["B-D", "I-D", "O", "O"], ["O", "B-D", "I-D"]]
    # gold: D[0,2) C[3,4) | D[1,2); pred: D[0,2) | D[1,3). Only s0's D matches.
    scores = ner_scores(gold, pred)
    assert (scores.micro.tp, scores.micro.n_pred, scores.micro.n_gold) == (1, 2, 3)
    assert scores.micro.precision == pytest.approx(0.5)
    assert scores.micro.recall == pytest.approx(1 / 3)
    assert scores.micro.f1 == pytest.approx(0.4)  # 2 * 1/2 * 1/3 / (5/6)
    assert scores.per_type["D"].f1 == pytest.approx(0.5)  # tp 1, pred 2, gold 2
    assert scores.per_type["C"].as_dict() == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "tp": 0,
        "n_pred": 0,
        "n_gold": 1,
    }


def test_ner_scores_are_strict_iob2():
    # An I- after O opens no entity in strict IOB2; a type change ends the entity.
    assert ner_entities([["O", "I-D", "I-D", "B-D", "I-C"]]) == {(0, "D", 3, 4)}
    gold = [["B-D", "I-D", "O", "B-C"]]
    pred = [["I-D", "I-D", "O", "B-C"]]
    scores = ner_scores(gold, pred)
    assert (scores.micro.tp, scores.micro.n_pred, scores.micro.n_gold) == (1, 1, 2)
    assert scores.micro.f1 == pytest.approx(2 / 3)  # P 1, R 1/2


def test_ner_scores_reject_misaligned_input():
    with pytest.raises(ValueError, match="sentence 0"):
        ner_scores([["O", "O"]], [["O"]])
    with pytest.raises(ValueError, match="gold sentences"):
        ner_scores([["O"]], [])


def test_concept_mentions_are_maximal_runs():
    assert concept_mentions(["O", "D1", "D1", "D2", "O", "D1"]) == [(1, 3, "D1"), (3, 4, "D2"), (5, 6, "D1")]
    assert concept_mentions([0, 3, 3, 0, 4], outside=0) == [(1, 3, 3), (4, 5, 4)]
    assert concept_mentions([]) == []


def test_nen_scores_mention_level():
    gold = [["O", "D1", "D1", "O", "D2"], ["C5", "C5", "O"]]
    pred = [["O", "D1", "D1", "D1", "D2"], ["C5", "C5", "O"]]
    # gold: (0,1,3,D1) (0,4,5,D2) (1,0,2,C5); pred: (0,1,4,D1) (0,4,5,D2) (1,0,2,C5): the D1 span is wrong.
    scores = nen_scores(gold, pred)
    assert (scores.tp, scores.n_pred, scores.n_gold) == (2, 3, 3)
    assert scores.f1 == pytest.approx(2 / 3)


def test_nen_scores_need_the_right_concept():
    # Same span, wrong concept: one false positive and one false negative; O tokens never count.
    scores = nen_scores([[0, 7, 7, 0]], [[0, 8, 8, 0]], outside=0)
    assert (scores.tp, scores.n_pred, scores.n_gold) == (0, 1, 1)


def test_release_chunks_follow_the_release_rules():
    # I-D after O opens a chunk; B-D closes it and opens another; I-C after D opens C; B-C restarts C.
    assert release_chunks(["O", "I-D", "I-D", "B-D", "I-C", "B-C", "I-C"]) == {
        ("D", 1, 2),
        ("D", 3, 3),
        ("C", 4, 4),
        ("C", 5, 6),
    }
    assert release_conlleval_f1(["O", "O"], ["O", "O"]) == 0.0  # nothing to find scores 0 in the release


def test_release_ner_f1_batch_mean_drops_last_batch_and_concatenates():
    gold = [["B-D", "O"], ["I-D", "O"], ["O", "O"], ["O"], ["B-D"]]
    pred = [["B-D", "O"], ["O", "O"], ["O", "O"], ["O"], ["O"]]
    # Batch 1 (s0+s1): gold "B-D O I-D O" has chunks D(0,0), D(2,2); pred D(0,0): P 1, R 1/2, F1 2/3.
    # Batch 2 (s2+s3): no chunks at all: 0. s4 is in the dropped partial batch. Mean = 1/3.
    assert release_ner_f1_batch_mean(gold, pred, batch_size=2) == pytest.approx(1 / 3)
    # The corrected score: gold s0 D[0,1), s4 D[0,1) (s1's lone I-D is no entity); pred s0 D: F1 2/3.
    assert ner_scores(gold, pred).micro.f1 == pytest.approx(2 / 3)
    assert math.isnan(release_ner_f1_batch_mean(gold[:1], pred[:1], batch_size=2))


def test_release_nen_token_accuracy_counts_o_tokens():
    gold = [["O", "D1", "D1"], ["O"], ["D2"]]
    pred = [["O", "D1", "O"], ["O"], ["O"]]
    # Batch 1 = s0 + s1: 4 tokens, 3 equal (two of them O): 0.75. s2 is dropped.
    assert release_nen_token_accuracy_batch_mean(gold, pred, batch_size=2) == pytest.approx(0.75)
    # Mention level the same prediction finds no correct mention.
    assert nen_scores(gold, pred).f1 == 0.0
    assert math.isnan(release_nen_token_accuracy_batch_mean(gold, pred, batch_size=4))


def test_iob2_mentions_are_strict_and_in_order():
    from mtaal.active.metrics import iob2_mentions

    # A stray I- opens nothing; an I- of another type ends the mention before it.
    tags = ["B-d", "I-d", "O", "I-c", "B-c", "B-d", "I-c"]
    assert iob2_mentions(tags) == [(0, 2, "d"), (4, 5, "c"), (5, 6, "d")]
    assert iob2_mentions(["O", "O"]) == []


def test_all_o_predictor_scores_the_o_share_on_the_release_nen_metric_only():
    # 64 sentences (two full release batches of 32), half their tokens O
    ner = [["O", "B-Disease", "I-Disease", "O"]] * 64
    nen = [["O", "D1", "D1", "O"]] * 64
    nothing = all_outside_scores(ner, nen)
    assert set(nothing) == set(ALL_O_METRICS)
    assert nothing["all_o_release_nen_token_accuracy_batch_mean"] == pytest.approx(0.5)
    others = {name: value for name, value in nothing.items() if "token_accuracy" not in name}
    assert others == dict.fromkeys(others, 0.0)
    # a task the model lacks gives no all-O score
    assert set(all_outside_scores(ner, None)) == {n for n in ALL_O_METRICS if "ner" in n}
