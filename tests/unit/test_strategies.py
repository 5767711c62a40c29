"""Query strategies on hand-made probability arrays; expected picks worked out by hand in the comments."""

import math

import numpy as np
import pytest

from mtaal.active.strategies import (
    DiversityStrategy,
    EntropyStrategy,
    LeastConfidenceStrategy,
    MNLPStrategy,
    RandomStrategy,
    least_confidence,
    make_strategy,
    mnlp,
    release_mnlp,
    sentence_entropy,
    token_entropy,
)

IDS = [10, 11, 12, 13, 14]
# Two-label NER probabilities per sentence:
#  10: two tokens at 0.5/0.5      entropy per token ln2 = 0.6931: sum 1.3863, mean 0.6931, max 0.6931
#                                 LC 1 - 0.25 = 0.75; MNLP -ln 0.5 = 0.6931
#  11: three certain tokens       everything 0
#  12: four tokens at 0.8/0.2     entropy per token 0.5004: sum 2.0016, mean 0.5004, max 0.5004
#                                 LC 1 - 0.8^4 = 0.5904; MNLP -ln 0.8 = 0.2231
#  13: one 0.5/0.5 + 3 certain    entropy sum 0.6931, mean 0.1733, max 0.6931 (ties with 10)
#                                 LC 0.5; MNLP ln2 / 4 = 0.1733
#  14: ten tokens at 0.9/0.1      entropy per token 0.3251: sum 3.2508, mean 0.3251, max 0.3251
#                                 LC 1 - 0.9^10 = 0.6513; MNLP -ln 0.9 = 0.1054
NER = [
    np.array([[0.5, 0.5]] * 2),
    np.array([[1.0, 0.0]] * 3),
    np.array([[0.8, 0.2]] * 4),
    np.array([[0.5, 0.5]] + [[1.0, 0.0]] * 3),
    np.array([[0.9, 0.1]] * 10),
]


def test_score_functions_match_hand_values():
    assert token_entropy(np.array([[0.5, 0.5], [1.0, 0.0]])) == pytest.approx([math.log(2), 0.0])
    assert sentence_entropy(NER[2], "sum") == pytest.approx(4 * (0.8 * -math.log(0.8) + 0.2 * -math.log(0.2)))
    assert sentence_entropy(NER[3], "mean") == pytest.approx(math.log(2) / 4)
    assert least_confidence(NER[4]) == pytest.approx(1 - 0.9**10)
    assert mnlp(NER[3]) == pytest.approx(math.log(2) / 4)
    assert release_mnlp(NER[3]) == pytest.approx(-math.log(0.875))
    with pytest.raises(ValueError, match="aggregate"):
        EntropyStrategy("median")


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (EntropyStrategy("sum"), [14, 12, 10, 13, 11]),
        (EntropyStrategy("mean"), [10, 12, 14, 13, 11]),
        # 10 and 13 tie at ln2 (same computation): ascending id breaks the tie.
        (EntropyStrategy("max"), [10, 13, 12, 14, 11]),
        (LeastConfidenceStrategy(), [10, 14, 12, 13, 11]),
        (MNLPStrategy(), [10, 12, 13, 14, 11]),
    ],
)
def test_uncertainty_rankings(strategy, expected):
    assert strategy.select(5, IDS, probs={"ner": NER}) == expected
    assert strategy.select(2, IDS, probs={"ner": NER}) == expected[:2]


def test_ranking_does_not_depend_on_candidate_listing_order():
    order = [3, 0, 4, 2, 1]
    ids = [IDS[i] for i in order]
    probs = {"ner": [NER[i] for i in order]}
    assert EntropyStrategy("max").select(5, ids, probs=probs) == [10, 13, 12, 14, 11]


def test_mnlp_shen_and_release_forms_disagree_where_jensen_bites():
    a = np.array([[0.5, 0.5], [1.0, 0.0]])  # Shen: ln2/2 = 0.3466; release: -ln 0.75 = 0.2877
    b = np.array([[0.72, 0.28], [0.72, 0.28]])  # both: -ln 0.72 = 0.3285
    probs = {"ner": [a, b]}
    assert MNLPStrategy().select(1, ["a", "b"], probs=probs) == ["a"]
    assert MNLPStrategy(release_form=True).select(1, ["a", "b"], probs=probs) == ["b"]


def test_multitask_scores_are_summed():
    # A: NER LC 1 - 0.5 = 0.5, NEN LC 0 -> 0.5.  B: NER LC 0.4, NEN LC 1 - 0.4 = 0.6 -> 1.0.
    ner = [np.array([[0.5, 0.5]]), np.array([[0.6, 0.4]])]
    nen = [np.array([[1.0, 0.0, 0.0]]), np.array([[0.4, 0.3, 0.3]])]
    lc = LeastConfidenceStrategy()
    assert lc.select(1, ["A", "B"], probs={"ner": ner}) == ["A"]
    assert lc.select(1, ["A", "B"], probs={"ner": ner, "nen": nen}) == ["B"]
    assert lc.scores({"ner": ner, "nen": nen}, 2) == pytest.approx([0.5, 1.0])


def test_diversity_picks_highest_scores_with_id_tiebreak():
    assert DiversityStrategy().select(3, [3, 1, 2, 0], diversity=[0.2, 0.9, 0.5, 0.9]) == [0, 1, 2]
    with pytest.raises(ValueError, match="diversity"):
        DiversityStrategy().select(1, [0], probs={"ner": NER[:1]})


def test_random_is_seeded_without_replacement_and_order_free():
    ids = list(range(100, 150))
    first = RandomStrategy().select(20, ids, rng=np.random.default_rng(7))
    again = RandomStrategy().select(20, ids[::-1], rng=np.random.default_rng(7))
    assert first == again
    assert len(set(first)) == 20 and set(first) <= set(ids)
    everything = RandomStrategy().select(80, ids, rng=np.random.default_rng(1))
    assert sorted(everything) == ids
    assert RandomStrategy().select(20, ids, rng=np.random.default_rng(8)) != first
    with pytest.raises(ValueError, match="Generator"):
        RandomStrategy().select(1, ids)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="unique"):
        LeastConfidenceStrategy().select(1, [1, 1], probs={"ner": NER[:2]})
    with pytest.raises(ValueError, match="2 probability arrays for 3"):
        LeastConfidenceStrategy().select(1, [1, 2, 3], probs={"ner": NER[:2]})
    with pytest.raises(ValueError, match="NaN"):
        DiversityStrategy().select(1, [1, 2], diversity=[0.1, float("nan")])
    with pytest.raises(ValueError, match="probs"):
        MNLPStrategy().select(1, [1])
    assert LeastConfidenceStrategy().select(0, IDS, probs={"ner": NER}) == []


def test_make_strategy_by_name():
    assert isinstance(make_strategy("lc"), LeastConfidenceStrategy)
    assert make_strategy("entropy", aggregate="mean").aggregate == "mean"
    with pytest.raises(ValueError, match="unknown query strategy"):
        make_strategy("bald")
