"""The active-learning loop on a tiny synthetic corpus: pools, strategies, resumption, checkpoints."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from gensim.models import KeyedVectors
from safetensors import safe_open

from mtaal.active.data import OUTSIDE, UNK_LABEL, load_al_data
from mtaal.active.loop import load_checkpoint, run_active_learning
from mtaal.active.settings import IDENTITY_SCHEMA, ROUND_COLUMNS, ALSettings
from mtaal.errors import ConfigError
from tests.table4_reference import table4_from_tokens

FILLER = ["the", "patients", "with", "showed", "no", "signs", "of", "and", "were", "treated", "after"]
MENTIONS = [  # (tokens, concept id); None: a mention without a concept id
    (["asthma"], "D001249"),
    (["breast", "cancer"], "D001943"),
    (["heart", "failure"], "D006333"),
    (["seizures"], "D012640|D004827"),
    (["nephrotoxicity"], None),
]
N_LABELED, N_UNLABELED, N_TEST = 12, 40, 8

pytestmark = pytest.mark.usefixtures("one_torch_thread")



def _sentence(rng, mention_pool):
    tokens = [(w, "O", None) for w in rng.choice(FILLER, size=rng.integers(2, 5))]
    if rng.random() < 0.7:
        words, concept = mention_pool[rng.integers(len(mention_pool))]
        tagged = [(w, ("B-" if j == 0 else "I-") + "disease", concept) for j, w in enumerate(words)]
        at = int(rng.integers(len(tokens) + 1))
        tokens = tokens[:at] + tagged + tokens[at:]
    return tokens


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """tokens.parquet / mtaal_split.parquet / mtaal_labels.json as the corpus layer writes them."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(7)
    pools = ["labeled"] * N_LABELED + ["unlabeled"] * N_UNLABELED + ["test"] * N_TEST
    sentences = [_sentence(rng, MENTIONS) for _ in pools]
    # A test sentence with an unseen word and an unseen concept (no leakage into the label sets).
    sentences[-1] = [("zebrafish", "O", None), ("gout", "B-disease", "D006073"), ("seen", "O", None)]
    rows, split = [], []
    for n, (tokens, pool) in enumerate(zip(sentences, pools, strict=True)):
        doc, sent = f"doc{n // 3}", n % 3
        split.append({"doc_id": doc, "sentence": sent, "release_split": "train", "n_words": len(tokens),
                      "sentence_id": f"{doc}:{sent}", "split": pool})
        for pos, (word, tag, concept) in enumerate(tokens):
            rows.append({"doc_id": doc, "split": "train", "sentence": sent, "position": pos, "token": word,
                         "start": 0, "end": 0, "tag": tag, "concept_id": concept})
    tokens = pd.DataFrame(rows).astype({"sentence": "int32", "position": "int32"})
    tokens.to_parquet(root / "tokens.parquet")
    pd.DataFrame(split).to_parquet(root / "mtaal_split.parquet")
    test_ids = {s["sentence_id"] for s in split if s["split"] == "test"}
    sentence_ids = tokens["doc_id"] + ":" + tokens["sentence"].astype(str)
    seen = tokens[~sentence_ids.isin(test_ids)]
    labels = {"words": sorted(seen["token"].unique()), "ner_tags": sorted(seen["tag"].unique()),
              "nen_labels": sorted(seen["concept_id"].dropna().unique())}
    (root / "mtaal_labels.json").write_text(json.dumps(labels))
    return root


@pytest.fixture(scope="module")
def data(corpus):
    return load_al_data(
        corpus / "tokens.parquet", corpus / "mtaal_split.parquet", corpus / "mtaal_labels.json"
    )


def settings(**kw):
    base = dict(dataset="toy", embedding="random", strategy="diversity", use_td=True, use_dd=True, seed=3,
                rounds=2, query_size=5, hidden=4, char_dim=4, batch_size=8, dd_steps=2, scoring_batch_size=16,
                device="cpu")
    base.update(kw)
    return ALSettings(**base)


def run(data, tmp_path, name="run", vectors=None, **kw):
    out = tmp_path / name / "rounds.parquet"
    frame = run_active_learning(
        settings(**kw), data, vectors, out, tmp_path / name / "ckpt.safetensors", progress=False
    )
    return frame, out


def without_time(frame):
    return frame.drop(columns=["wall_seconds"])


# ------------------------------------------------------------------------------------------ data


def test_load_al_data_labels_pools_and_unknowns(data):
    assert (len(data.labeled), len(data.unlabeled), len(data.test)) == (N_LABELED, N_UNLABELED, N_TEST)
    assert data.nen_labels[0] == OUTSIDE and "D012640|D004827" in data.nen_labels
    assert data.ner_labels == ["B-disease", "I-disease", "O"]
    assert "zebrafish" not in data.vocab_words and "gout" not in data.vocab_words
    last = data.index(data.test[-1])
    assert data.words[last] == ["zebrafish", "gout", "seen"]
    assert data.nen[last] == [0, UNK_LABEL, 0]  # unseen concept: reserved id outside the output layer
    assert data.nen_gold[last] == ["O", "D006073", "O"]  # the gold string is kept for scoring
    for i in data.indices(data.labeled + data.unlabeled):
        assert UNK_LABEL not in data.ner[i] and UNK_LABEL not in data.nen[i]
        for word, tag, concept in zip(data.words[i], data.ner_gold[i], data.nen_gold[i], strict=True):
            if word == "nephrotoxicity":  # mention without a concept id -> NEN "O"
                assert tag == "B-disease" and concept == OUTSIDE


def test_labels_from_other_data_are_refused(corpus, tmp_path):
    labels = json.loads((corpus / "mtaal_labels.json").read_text())
    labels["nen_labels"] = [c for c in labels["nen_labels"] if c != "D001249"]
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    with pytest.raises(ConfigError, match="missing from the label sets"):
        load_al_data(corpus / "tokens.parquet", corpus / "mtaal_split.parquet", tmp_path / "labels.json")


def test_subset_samples_the_pool_and_the_test_set(data):
    small = data.subset(max_pool_sentences=10, max_test_sentences=3, pool_seed=1, test_seed=0)
    assert len(small.unlabeled) == 10 and len(small.test) == 3 and small.labeled == data.labeled
    assert small.unlabeled == [sid for sid in data.unlabeled if sid in set(small.unlabeled)]  # order kept
    again = data.subset(max_pool_sentences=10, max_test_sentences=3, pool_seed=1, test_seed=0)
    assert again.unlabeled == small.unlabeled and again.test == small.test
    assert data.subset(max_pool_sentences=10, pool_seed=2).unlabeled != small.unlabeled
    assert data.subset(max_pool_sentences=1000).unlabeled == data.unlabeled


def test_settings_are_validated():
    with pytest.raises(ConfigError, match="use_td needs both tasks"):
        settings(tasks=("ner",), use_td=True)
    with pytest.raises(ConfigError, match="strategy"):
        settings(strategy="bald")
    with pytest.raises(ConfigError, match="query_size"):
        settings(query_size=0)
    assert settings(tasks=("nen", "ner")).tasks == ("ner", "nen")


# ------------------------------------------------------------------------------------------ the loop


@pytest.mark.parametrize("strategy", ["random", "entropy", "lc", "mnlp", "diversity"])
def test_each_strategy_queries_new_sentences(data, tmp_path, strategy):
    frame, out = run(data, tmp_path, strategy=strategy, use_dd=strategy == "diversity")
    assert list(frame.columns) == [*ROUND_COLUMNS, *IDENTITY_SCHEMA.names]
    assert out.is_file() and without_time(pd.read_parquet(out)).equals(without_time(frame))
    assert frame["round"].tolist() == [0, 1, 2]
    assert frame["labeled_count"].tolist() == [N_LABELED, N_LABELED + 5, N_LABELED + 10]
    assert list(frame["selected_ids"][0]) == []
    picked = [sid for ids in frame["selected_ids"] for sid in ids]
    assert len(picked) == 10 and len(set(picked)) == 10
    assert set(picked) <= set(data.unlabeled)
    scores = ("ner_precision", "ner_recall", "ner_f1", "nen_precision", "nen_recall", "nen_f1", "task_loss")
    for column in scores:
        assert frame[column].notna().all(), column
    # The release-style scores average over full batches of 32 test sentences: none here.
    assert frame["release_ner_f1_batch_mean"].isna().all()
    assert (frame["strategy"] == strategy).all() and (frame["tasks"] == "ner+nen").all()


def test_random_sampling_is_without_replacement_until_the_pool_is_empty(data, tmp_path):
    frame, _ = run(data, tmp_path, strategy="random", use_td=False, use_dd=False, rounds=4, query_size=15)
    picked = [sid for ids in frame["selected_ids"] for sid in ids]
    assert sorted(picked) == sorted(data.unlabeled)  # 15 + 15 + 10: every sentence exactly once
    assert frame["labeled_count"].tolist() == [12, 27, 42, 52]  # round 4 has nothing left to query


def test_resume_after_a_stop_gives_the_same_rounds(data, tmp_path):
    full, _ = run(data, tmp_path, "full", rounds=3)
    kw = dict(rounds=3)
    partial = run_active_learning(settings(**kw), data, None, tmp_path / "cut" / "rounds.parquet",
                                  tmp_path / "cut" / "ckpt.safetensors", stop_after_round=1, progress=False)
    assert len(partial) == 2 and not (tmp_path / "cut" / "rounds.parquet").exists()
    state = load_checkpoint(tmp_path / "cut" / "ckpt.safetensors")
    assert state["rounds_done"] == 2 and len(state["rows"]) == 2
    assert len(state["labeled"]) == N_LABELED + 5 and len(state["unlabeled"]) == N_UNLABELED - 5
    assert set(state["optimizers"]) == {"task", "td", "td_encoder", "dd", "dd_encoder"}
    assert isinstance(state["rng"]["numpy"]["state"]["state"], int)
    resumed, out = run(data, tmp_path, "cut", **kw)
    pd.testing.assert_frame_equal(without_time(resumed), without_time(full))
    pd.testing.assert_frame_equal(without_time(pd.read_parquet(out)), without_time(full))


def test_checkpoint_is_safetensors_with_the_rest_as_json(data, tmp_path):
    run(data, tmp_path, rounds=1)
    with safe_open(str(tmp_path / "run" / "ckpt.safetensors"), framework="pt") as handle:
        header = json.loads(handle.metadata()["mtaal_state"])
        assert len(list(handle.keys())) >= len(header["model"])
    assert header["settings"]["strategy"] == "diversity" and header["rounds_done"] == 2
    state = load_checkpoint(tmp_path / "run" / "ckpt.safetensors")
    assert all(isinstance(v, torch.Tensor) for v in state["model"].values())


def test_a_checkpoint_of_other_settings_is_ignored(data, tmp_path):
    run(data, tmp_path, "a", query_size=3, rounds=1)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "ckpt.safetensors").write_bytes((tmp_path / "a" / "ckpt.safetensors").read_bytes())
    fresh, _ = run(data, tmp_path, "c", rounds=1)
    other, _ = run(data, tmp_path, "b", rounds=1)
    pd.testing.assert_frame_equal(without_time(other), without_time(fresh))


def test_an_unreadable_checkpoint_is_ignored(data, tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "ckpt.safetensors").write_bytes(b"not a checkpoint")
    bad, _ = run(data, tmp_path, "bad", rounds=1)
    (tmp_path / "list").mkdir()
    torch.save([1, 2], tmp_path / "list" / "ckpt.safetensors")  # a pickle: never unpickled, just ignored
    other, _ = run(data, tmp_path, "list", rounds=1)
    fresh, _ = run(data, tmp_path, "fresh", rounds=1)
    pd.testing.assert_frame_equal(without_time(bad), without_time(fresh))
    pd.testing.assert_frame_equal(without_time(other), without_time(fresh))


def test_more_rounds_extend_a_finished_run(data, tmp_path):
    run(data, tmp_path, "x", rounds=1)
    extended, _ = run(data, tmp_path, "x", rounds=2)
    straight, _ = run(data, tmp_path, "y", rounds=2)
    pd.testing.assert_frame_equal(without_time(extended), without_time(straight))


def test_single_task_ner_has_no_nen_scores(data, tmp_path):
    frame, _ = run(data, tmp_path, tasks=("ner",), use_td=False, strategy="entropy", use_dd=False, rounds=1)
    assert frame["nen_f1"].isna().all() and frame["release_nen_token_accuracy_batch_mean"].isna().all()
    assert frame["ner_f1"].notna().all() and (frame["tasks"] == "ner").all()


def test_diversity_without_dd_leaves_the_discriminator_untrained(data, tmp_path):
    run(data, tmp_path, use_dd=False, use_td=False, rounds=1)
    state = load_checkpoint(tmp_path / "run" / "ckpt.safetensors")
    assert state["optimizers"]["dd"]["state"] == {}  # the DD optimiser never stepped
    assert any(k.startswith("dd.") for k in state["model"])


def test_cold_start_differs_from_warm_start(data, tmp_path):
    warm, _ = run(data, tmp_path, "warm", rounds=2)
    cold, _ = run(data, tmp_path, "cold", rounds=2, warm_start=False)
    assert warm["task_loss"][0] == cold["task_loss"][0]  # round 0 is the same
    assert not np.allclose(warm["task_loss"][1:], cold["task_loss"][1:])


def test_vectors_file_and_determinism(data, tmp_path):
    kv = KeyedVectors(vector_size=6)
    vectors = np.random.default_rng(0).normal(size=(3, 6)).astype(np.float32)
    kv.add_vectors(["asthma", "the", "cancer"], vectors)
    from mtaal.embeddings import save_keyed_vectors

    save_keyed_vectors(kv, tmp_path / "toy.safetensors")
    a, _ = run(data, tmp_path, "a", vectors=tmp_path / "toy.safetensors", rounds=1)
    b, _ = run(data, tmp_path, "b", vectors=tmp_path / "toy.safetensors", rounds=1)
    pd.testing.assert_frame_equal(without_time(a), without_time(b))
    assert all(math.isfinite(x) for x in a["task_loss"])


# ------------------------------------------------------------------------------------------ paper / release


def test_no_training_before_the_first_query(data, tmp_path):
    # Algorithm 1 queries first: round 0 scores the untrained model, round 1 is trained after its query.
    from mtaal.active.loop import ActiveLearner

    s = settings(initial_epochs=0, rounds=1)
    learner = ActiveLearner(s, data, None)
    initial = {k: v.clone() for k, v in learner.model.state_dict().items()}
    row = learner.run_round(0)
    assert math.isnan(row["task_loss"]) and row["labeled_count"] == N_LABELED
    assert all(torch.equal(v, initial[k]) for k, v in learner.model.state_dict().items())
    row = learner.run_round(1)
    assert math.isfinite(row["task_loss"]) and row["labeled_count"] == N_LABELED + 5
    with pytest.raises(ConfigError, match="warm_start"):
        settings(initial_epochs=0, warm_start=False)


def test_td_pass_plays_on_labeled_and_unlabeled_batches(data, monkeypatch):
    # Algorithm 1 line 9: mini-batches x^L ~ X^L and x^U ~ X^U, one unlabeled batch per labeled one.
    from mtaal.active import loop

    seen = []
    monkeypatch.setattr(loop, "adversarial_td_step", lambda model, batch, *a, **k: seen.append(batch))
    learner = loop.ActiveLearner(settings(batch_size=5), data, None)
    learner.td_pass()
    vocab_ids = {i: w for w, i in learner.vocab.words.items()}
    sentences = [tuple(vocab_ids[int(i)] for i in row[:n]) for b in seen
                 for row, n in zip(b.word_ids, b.lengths.tolist(), strict=True)]
    labeled = {tuple(learner.data.words[i]) for i in learner.data.indices(learner.labeled)}
    unlabeled = {tuple(learner.data.words[i]) for i in learner.data.indices(learner.unlabeled)}
    assert len(seen) == 2 * math.ceil(N_LABELED / 5)
    assert labeled <= set(sentences)
    assert sum(s in unlabeled - labeled for s in sentences) == 5 * math.ceil(N_LABELED / 5)


def test_release_random_sampling_repeats_sentences_into_the_labeled_set(data, tmp_path):
    from mtaal.active.loop import ActiveLearner

    learner = ActiveLearner(settings(strategy="random", use_td=False, use_dd=False, query_size=30,
                                     random_with_replacement=True), data, None)
    picked = learner.select()
    assert len(picked) == 30 and len(set(picked)) < 30  # 30 draws from 40 repeat with p > 0.999
    learner.move_to_labeled(picked)
    assert len(learner.labeled) == N_LABELED + 30
    assert len(learner.unlabeled) == N_UNLABELED - len(set(picked))
    strict = ActiveLearner(settings(strategy="random", use_td=False, use_dd=False), data, None)
    with pytest.raises(RuntimeError, match="repeats"):
        strict.move_to_labeled([strict.unlabeled[0]] * 2)


def test_release_switches_reach_the_strategy_and_the_model(data, tmp_path):
    from mtaal.active.loop import ActiveLearner

    # The release preset's model end to end: per-word TD / DD, Keras init, dropped partial batches.
    frame, _ = run(data, tmp_path, rounds=1, discriminators="word", char_init="keras", drop_last_batch=True,
                   initial_epochs=0)
    assert frame["labeled_count"].tolist() == [N_LABELED, N_LABELED + 5]
    assert len(set(frame["selected_ids"].iloc[1])) == 5 and math.isfinite(frame["task_loss"].iloc[1])

    entropy = ActiveLearner(settings(strategy="entropy", use_td=False, use_dd=False, entropy_aggregate="max"),
                            data, None)
    assert entropy.strategy.aggregate == "max"
    mnlp = ActiveLearner(settings(strategy="mnlp", use_td=False, use_dd=False, mnlp_form="release"), data,
                         None)
    assert mnlp.strategy.release_form
    word = ActiveLearner(settings(discriminators="word", char_init="keras"), data, None)
    assert word.model.per_word_discriminators
    assert word.model.encoder.chars.embedding.weight.abs().max() <= 0.05
    with pytest.raises(ConfigError, match="entropy_aggregate"):
        settings(entropy_aggregate="mean")


def test_release_random_word_vectors_start_uniform_and_only_the_task_solver_trains_them(data, tmp_path):
    from mtaal.active.loop import RELEASE_WORD_DIM, ActiveLearner

    # The vectors file is never read: a path that does not exist is fine.
    learner = ActiveLearner(settings(word_vectors="release_random"), data, tmp_path / "absent.kv")
    word = learner.model.encoder.word_embedding.weight
    assert word.shape == (len(learner.vocab.words), RELEASE_WORD_DIM) and word.requires_grad
    assert 0.04 < word[1:].abs().max() <= 0.05 and not word[0].any()
    in_group = {name: any(p is word for group in opt.param_groups for p in group["params"])
                for name, opt in vars(learner.optimizers).items() if opt is not None}
    assert in_group == {"task": True, "td": False, "td_encoder": False, "dd": False, "dd_encoder": False}
    start = word.detach().clone()
    learner.task_epochs(1)
    assert not torch.equal(start, word.detach())
    frozen = ActiveLearner(settings(), data, None).model.encoder.word_embedding.weight
    assert not frozen.requires_grad
    # The paper's side keeps the hash every recorded run was written with.
    assert "word_vectors" not in settings().identity()
    assert settings(word_vectors="release_random").settings_hash() != settings().settings_hash()
    with pytest.raises(ConfigError, match="word_vectors"):
        settings(word_vectors="glove")


def test_release_separate_char_encoders_read_the_dd_game_s_pool_batch_only(data):
    from mtaal.active.loop import ActiveLearner

    learner = ActiveLearner(settings(char_encoders="release_separate", strategy="random", use_td=False),
                            data, None)
    chars, pool_chars = learner.model.encoder.chars, learner.model.encoder.unlabeled_chars
    snapshot = [{k: v.clone() for k, v in m.state_dict().items()} for m in (chars, pool_chars)]
    moved = lambda m, old: any(not torch.equal(v, old[k]) for k, v in m.state_dict().items())  # noqa: E731
    learner.task_epochs(1)
    assert moved(chars, snapshot[0]) and not moved(pool_chars, snapshot[1])
    snapshot = [{k: v.clone() for k, v in m.state_dict().items()} for m in (chars, pool_chars)]
    learner.dd_game()
    assert moved(pool_chars, snapshot[1])
    assert ActiveLearner(settings(), data, None).model.encoder.unlabeled_chars is None
    assert "char_encoders" not in settings().identity()


def test_a_variant_s_model_switches_override_the_tier_s():
    from mtaal.active.experiment import experiment_settings

    study = {"rounds": 25, "query_size": 64, "initial_epochs": 0, "epochs_per_round": 1, "warm_start": True,
             "max_pool_sentences": None, "max_labeled_sentences": None, "max_test_sentences": None,
             "dd_steps": 1}
    model = {"hidden": 64, "char_dim": 30, "batch_size": 32, "lr": 1e-3, "betas": [0.9, 0.9],
             "adversarial_lr": 1e-4, "discriminators": "sentence", "entropy_aggregate": "sum"}
    plain = {"tasks": ["ner", "nen"], "strategy": "diversity", "td": True, "dd": True}
    word = {**plain, "model": {"discriminators": "word"}}
    a = experiment_settings("ncbi_disease", "glove", plain, study, model, 1)
    b = experiment_settings("ncbi_disease", "glove", word, study, model, 1)
    assert (a.discriminators, b.discriminators) == ("sentence", "word")
    assert model["discriminators"] == "sentence"  # the tier's settings are left as they were


def test_drop_last_batch_drops_the_partial_training_batch(data, monkeypatch):
    from mtaal.active import loop

    sizes = []
    monkeypatch.setattr(loop, "train_task_epoch",
                        lambda model, batches, opt: sizes.extend(len(b) for b in batches))
    for drop in (False, True):
        sizes.clear()
        loop.ActiveLearner(settings(batch_size=5, drop_last_batch=drop), data, None).task_epochs(1)
        assert sizes == ([5, 5] if drop else [5, 5, 2])


def test_per_dataset_query_size_reaches_the_run():
    from mtaal.active.experiment import experiment_settings

    variant = {"tasks": ["ner", "nen"], "strategy": "diversity", "td": True, "dd": True}
    study = {"rounds": 70, "query_size": {"ncbi_disease": 64, "bc5cdr": 128}, "initial_epochs": 0,
             "epochs_per_round": 1, "warm_start": True, "max_pool_sentences": None,
             "max_labeled_sentences": None, "max_test_sentences": None, "dd_steps": 1}
    model = {"hidden": 64, "char_dim": 30, "batch_size": 32, "lr": 1e-3, "betas": [0.9, 0.9],
             "adversarial_lr": 1e-4, "discriminators": "word"}
    ncbi = experiment_settings("ncbi_disease", "glove", variant, study, model, 1)
    cdr = experiment_settings("bc5cdr", "glove", variant, study, model, 1)
    assert (ncbi.query_size, cdr.query_size, cdr.discriminators, cdr.char_init) == (64, 128, "word", "paper")
    with pytest.raises(ConfigError, match="no entry for dataset 'other'"):
        experiment_settings("other", "glove", variant, study, model, 1)


def test_release_test_shuffle_reorders_only_the_release_metric_batches(data, monkeypatch):
    # The release reshuffles its test ids every round before its per-batch means (data_loader.py getData);
    # the corrected metrics pool the whole set and must not move.
    from mtaal.active import loop

    orders = []
    real = loop.M.release_ner_f1_batch_mean
    monkeypatch.setattr(loop.M, "release_ner_f1_batch_mean",
                        lambda gold, pred: orders.append([" ".join(g) for g in gold]) or real(gold, pred, 4))
    monkeypatch.setattr(loop.M, "all_outside_scores", lambda *tasks: {})  # it would record orders too
    fixed = loop.ActiveLearner(settings(), data, None)
    shuffled = loop.ActiveLearner(settings(release_test_shuffle=True), data, None)
    plain, first = fixed.evaluate(), shuffled.evaluate()
    shuffled.rows.append({})  # the next round draws a new order
    shuffled.evaluate()
    assert orders[0] != orders[1] and orders[1] != orders[2] and sorted(orders[1]) == sorted(orders[0])
    assert plain["ner_f1"] == first["ner_f1"] and plain["nen_f1"] == first["nen_f1"]
    again = loop.ActiveLearner(settings(release_test_shuffle=True), data, None)
    again.evaluate()
    assert orders[3] == orders[1]  # seeded by (seed, round): a resumed run draws the same order


@pytest.mark.parametrize("discriminators", ["sentence", "word"])
def test_reused_encodings_give_the_same_rounds_as_two_forward_passes(data, discriminators):
    # The fast adversarial steps (one encoding for both sides, TD without the decoders' unused BiLSTMs,
    # encoder-only gradients) must train the same model: same selections, scores and weights.
    from mtaal.active.loop import ActiveLearner

    learners = []
    for reuse in (True, False):
        learner = ActiveLearner(settings(initial_epochs=1, dd_steps=3, discriminators=discriminators), data,
                                None)
        learner.reuse_encoding = reuse
        rows = [learner.run_round(r) for r in range(3)]
        learners.append((learner, rows))
    (fast, fast_rows), (slow, slow_rows) = learners
    for a, b in zip(fast_rows, slow_rows, strict=True):
        assert a["selected_ids"] == b["selected_ids"]
        for key in ("ner_f1", "nen_f1", "task_loss"):
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-6)
    scores_fast, scores_slow = fast.pool_scores(fast.unlabeled), slow.pool_scores(slow.unlabeled)
    np.testing.assert_allclose(scores_fast, scores_slow, rtol=1e-4, atol=1e-6)
    # Equal up to float32 rounding (another order of the same sums), except the attention key biases:
    # their true gradient is 0 (softmax ignores a shift shared by all keys), so Adam steps them by rounding
    # noise, at most lr per step.
    slow_state = slow.model.state_dict()
    for name, value in fast.model.state_dict().items():
        atol = 1e-4 if name.endswith("attention.key.bias") else 1e-6
        torch.testing.assert_close(value, slow_state[name], rtol=1e-5, atol=atol, msg=name)


def test_length_buckets_train_on_the_same_sentences_with_less_padding(data, monkeypatch):
    from mtaal.active import loop

    padding = {}
    for window in (0, 4):
        seen = []
        monkeypatch.setattr(loop, "train_task_epoch",
                            lambda model, batches, opt, seen=seen: seen.extend(batches) or 0.0)
        learner = loop.ActiveLearner(settings(batch_size=4, length_buckets=window), data, None)
        learner.task_epochs(1)
        rows = sorted(tuple(r[:n].tolist()) for b in seen for r, n in zip(b.word_ids, b.lengths, strict=True))
        padding[window] = (rows, sum(int(b.mask.numel() - b.mask.sum()) for b in seen))
    assert padding[0][0] == padding[4][0]
    assert padding[4][1] < padding[0][1]
    # A checkpoint of a run without the setting (written before it existed) still matches.
    assert "length_buckets" not in settings().identity()
    assert settings(length_buckets=4).identity()["length_buckets"] == 4


def test_a_finished_run_writes_who_it_is_with_its_rounds(data, tmp_path):
    names = {"paper": "mtaal", "experiment": "curves", "variant": "mtaal", "tier": "tiny"}
    out = tmp_path / "r" / "rounds.parquet"
    run_active_learning(settings(max_pool_sentences=7), data, None, out, tmp_path / "r" / "c.safetensors",
                        progress=False, identity=names)
    written = pd.read_parquet(out)
    assert written[list(names)].drop_duplicates().to_dict("records") == [names]
    assert written["available_sentences"].unique().tolist() == [N_LABELED + 7]
    assert written["settings_hash"].unique().tolist() == [settings(max_pool_sentences=7).settings_hash()]
    assert settings(max_pool_sentences=7).settings_hash() != settings(max_pool_sentences=8).settings_hash()
    # A resumable change (more rounds) keeps the hash: the extended run is the same run.
    assert settings(rounds=9).settings_hash() == settings().settings_hash()
    with pytest.raises(ValueError, match="unknown names"):
        run_active_learning(settings(), data, None, tmp_path / "x" / "rounds.parquet",
                            tmp_path / "x" / "c.safetensors", progress=False, identity={"study": "curves"})


# ------------------------------------------------------------------------------------------ Table 4


def paper_statistics(table):
    """Table 4's own statistics (the reference knows those only)."""
    return table[table["statistic"] != "words_per_selection"].reset_index(drop=True)


def test_query_statistics_give_table_4_as_the_selected_ids_and_tokens_did(corpus, data, tmp_path):
    from mtaal.active.metrics import QUERY_METRICS
    from mtaal.results.mtaal_tables import query_diversity
    from mtaal.results.store import read_store, rounds_from_store, write_store

    specs = [("mtaal", dict(seed=1)), ("mtaal", dict(seed=2)),
             # repeats: a selection counted twice, its sentence once
             ("mtl-random", dict(seed=1, strategy="random", use_td=False, use_dd=False, query_size=20,
                                 random_with_replacement=True))]
    paths = []
    for variant, kw in specs:
        out = tmp_path / f"{variant}{kw['seed']}" / "rounds.parquet"
        run_active_learning(settings(rounds=3, **kw), data, None, out, out.with_suffix(".safetensors"),
                            progress=False, identity={"paper": "mtaal", "experiment": "diversity",
                                                      "variant": variant, "tier": "test"})
        paths.append(out)
    rounds = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    picked = [sid for ids in rounds.loc[rounds["variant"] == "mtl-random", "selected_ids"] for sid in ids]
    assert len(set(picked)) < len(picked)
    assert rounds.loc[rounds["round"] == 0, list(QUERY_METRICS)].eq(0).all(axis=None)
    tokens = pd.read_parquet(corpus / "tokens.parquet")
    # Every round: its statistics are those of all the sentences selected up to it.
    for _, run_rows in rounds.groupby(["variant", "seed"]):
        for r in range(1, 4):
            upto = run_rows[run_rows["round"] <= r]
            expected = table4_from_tokens(upto.rename(columns={"experiment": "study"}), tokens)
            got = query_diversity(upto.rename(columns={"experiment": "study"}))
            pd.testing.assert_frame_equal(paper_statistics(got), expected)
    write_store(tmp_path / "store", paths, [])
    from_store = query_diversity(rounds_from_store(read_store(tmp_path / "store")))
    pd.testing.assert_frame_equal(paper_statistics(from_store), table4_from_tokens(rounds, tokens))
    # Beside the paper's: words per selection, from the rounds' annotation cost.
    words = from_store[from_store["statistic"] == "words_per_selection"].set_index("variant")["mean"]
    expected = {variant: np.mean([(r["labeled_words"].iat[-1] - r["labeled_words"].iat[0])
                                  / r["queried_sentences"].iat[-1] for _, r in runs.groupby("seed")])
                for variant, runs in rounds.groupby("variant")}
    assert words.to_dict() == pytest.approx(expected)
    assert set(from_store["n_repeats"]) == {1, 2}


def test_a_run_resumed_from_a_checkpoint_without_query_statistics_counts_every_selection(data, tmp_path):
    from mtaal.active.loop import save_checkpoint
    from mtaal.active.metrics import QUERY_METRICS

    full, _ = run(data, tmp_path, "full", rounds=2)
    run_active_learning(settings(rounds=2), data, None, tmp_path / "old" / "rounds.parquet",
                        tmp_path / "old" / "ckpt.safetensors", stop_after_round=1, progress=False)
    state = load_checkpoint(tmp_path / "old" / "ckpt.safetensors")
    for row in state["rows"]:  # as a checkpoint written before the query statistics existed
        for name in QUERY_METRICS:
            del row[name]
    save_checkpoint(state, tmp_path / "old" / "ckpt.safetensors")
    resumed, _ = run(data, tmp_path, "old", rounds=2)
    assert resumed.loc[:1, list(QUERY_METRICS)].isna().all(axis=None)
    pd.testing.assert_frame_equal(without_time(resumed).iloc[2:], without_time(full).iloc[2:],
                                  check_dtype=False)


def test_rounds_carry_the_labeled_set_s_cost_and_it_can_be_read_back_from_the_selected_ids(data, tmp_path):
    from mtaal.active.cost import fill_annotation_cost, selection_rows
    from mtaal.active.loop import run_sample

    frame, _ = run(data, tmp_path, strategy="lc", use_td=False, use_dd=False, rounds=3)
    sample = run_sample(settings(strategy="lc", use_td=False, use_dd=False, rounds=3), data)
    labeled = list(sample.labeled)
    for row in frame.itertuples():
        labeled += list(row.selected_ids)
        index = data.indices(labeled)
        assert row.labeled_words == sum(len(data.words[i]) for i in index)
        assert row.labeled_mentions == sum(t.startswith("B-") for i in index for t in data.ner_gold[i])
    assert frame["labeled_words"].is_monotonic_increasing and frame["labeled_mentions"].iat[-1] > 0
    # A run written before the columns existed gets the same numbers from its ids.
    refilled = fill_annotation_cost(frame.drop(columns=["labeled_words", "labeled_mentions"]), sample)
    pd.testing.assert_frame_equal(refilled[frame.columns], frame)
    picks = selection_rows(frame, sample, "toy")
    assert len(picks) == 3 * 5 and picks.groupby("round")["rank"].max().tolist() == [4, 4, 4]
    assert picks["words"].sum() == frame["labeled_words"].iat[-1] - frame["labeled_words"].iat[0]
    with pytest.raises(ValueError, match="not the run's data"):
        fill_annotation_cost(frame, data.subset(max_labeled_sentences=3))


@pytest.mark.parametrize("use_td", [False, True])
def test_a_random_run_replays_its_selections_without_training(data, tmp_path, use_td):
    from mtaal.active.cost import replay_random_run

    kw = dict(strategy="random", use_td=use_td, use_dd=False, rounds=3, length_buckets=2, initial_epochs=1)
    frame, _ = run(data, tmp_path, **kw)
    replayed = replay_random_run(settings(**kw), data)
    assert replayed["selected_ids"].map(list).tolist() == frame["selected_ids"].map(list).tolist()
    for column in ("labeled_count", "labeled_words", "labeled_mentions", "queried_distinct_words"):
        assert replayed[column].tolist() == frame[column].tolist()
    with pytest.raises(ValueError, match="only a random-strategy run"):
        replay_random_run(settings(strategy="lc", use_td=False, use_dd=False), data)


def test_a_record_recovers_the_cost_of_its_random_runs_and_only_when_the_replay_checks_out(
        corpus, data, tmp_path):
    import yaml

    from mtaal.active.experiment import experiment_settings
    from mtaal.active.identity import collect_rounds
    from mtaal.results import record as R
    from mtaal.results.store import mtaal_rows, read_store, write_run

    study = {"rounds": 3, "query_size": 5, "initial_epochs": 0, "epochs_per_round": 1, "warm_start": True,
             "max_pool_sentences": None, "max_labeled_sentences": None, "max_test_sentences": None,
             "dd_steps": 1}
    model = {"hidden": 4, "char_dim": 4, "batch_size": 8, "lr": 1e-3, "betas": [0.9, 0.9],
             "adversarial_lr": 1e-4, "length_buckets": 2}
    variants = {"mtl-random": {"tasks": ["ner", "nen"], "strategy": "random", "td": False, "dd": False},
                "mtl-lc": {"tasks": ["ner", "nen"], "strategy": "lc", "td": False, "dd": False}}
    record = tmp_path / "record"
    (record / "provenance").mkdir(parents=True)
    (record / "provenance" / "config.yaml").write_text(
        yaml.safe_dump({"mtaal": {"variants": variants, "curves": study, "model": model}}))
    runs = {}
    for variant in variants:
        out = tmp_path / variant / "rounds.parquet"
        run_active_learning(experiment_settings("toy", "random", variants[variant], study, model, 3), data,
                            None, out, tmp_path / variant / "ckpt", progress=False,
                            identity={"paper": "mtaal", "experiment": "curves", "variant": variant,
                                      "tier": "t"})
        full = collect_rounds([out])
        runs[variant] = full
        # As a run written before runs kept their ids and cost.
        _, run_id, rows = mtaal_rows(out, full.drop(columns=["labeled_words", "labeled_mentions"]))
        write_run(rows, record / "store", "mtaal", "curves", run_id)
    (tmp_path / "results" / "corpora").mkdir(parents=True)
    (tmp_path / "results" / "corpora" / "toy").symlink_to(corpus)
    before = read_store(record / "store")
    outcome = R.recover_costs(record, tmp_path / "results", {})
    assert outcome["toy__random__mtl-random__seed3"].startswith("recovered")
    assert outcome["toy__random__mtl-lc__seed3"].startswith("not recoverable")
    after = read_store(record / "store")
    cost = after[after["metric"] == "labeled_words"].sort_values("step")
    assert cost["run_id"].unique().tolist() == ["toy__random__mtl-random__seed3"]
    assert cost["value"].tolist() == runs["mtl-random"]["labeled_words"].tolist()
    scores = after[~after["metric"].isin(["labeled_words", "labeled_mentions"])]
    pd.testing.assert_frame_equal(scores.sort_values(["run_id", "step", "metric"], ignore_index=True),
                                  before.sort_values(["run_id", "step", "metric"], ignore_index=True))
    picks = pd.read_parquet(record / "selections" / "toy__random__mtl-random__seed3.parquet")
    assert picks["sentence_id"].tolist() == [i for ids in runs["mtl-random"]["selected_ids"] for i in ids]
