"""The MTAAL network on a toy batch: shapes, masking, losses, adversarial signs, determinism."""

import math

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mtaal.active import network
from mtaal.active.batching import (
    BATCH_SIZE,
    IGNORE_INDEX,
    PAD_ID,
    UNK_ID,
    Vocab,
    bucket_order,
    collate,
    iter_batches,
    length_sorted_batches,
)
from mtaal.active.inference import diversity_scores, predict_labels, predict_pool, predict_proba
from mtaal.active.network import ModelSettings, MTAALModel
from mtaal.active.training import (
    adversarial_dd_step,
    adversarial_td_step,
    dd_discriminator_step,
    dd_encoder_step,
    dd_loss,
    dd_loss_value,
    encoder_dd_loss,
    make_optimizers,
    task_loss,
    td_adversarial_losses,
    td_discriminator_step,
    td_encoder_step,
    td_loss_value,
    train_task_epoch,
)
from mtaal.errors import ConfigError

SENTENCES = [
    ["Aspirin", "induced", "asthma", "."],
    ["No", "effect", "seen"],
    ["BRCA1", "mutations", "cause", "breast", "cancer", "in", "women", "."],
    ["Cisplatin", "nephrotoxicity"],
]
NER = [[1, 0, 1, 0], [0, 0, 0], [0, 0, 0, 1, 2, 0, 0, 0], [1, 1]]
NEN = [[1, 0, 2, 0], [0, 0, 0], [0, 0, 0, 3, 3, 0, 0, 0], [1, 4]]
UNLABELED = [
    ["Heart", "failure", "after", "doxorubicin"],
    ["Seizures", "were", "rare", "in", "this", "cohort"],
]
N_NER, N_NEN, HIDDEN = 3, 5, 8

pytestmark = pytest.mark.usefixtures("one_torch_thread")



@pytest.fixture(scope="module")
def vocab():
    return Vocab.build(SENTENCES + UNLABELED)


def build(vocab, seed=0, settings=None, **kw):
    emb = vocab.embedding_matrix(None, 6, seed=1)
    return MTAALModel(
        emb, len(vocab.chars), N_NER, N_NEN, settings, hidden=HIDDEN, char_dim=5, seed=seed, **kw
    )


def labeled(vocab, **kw):
    return collate(SENTENCES, vocab, NER, NEN, **kw)


def unlabeled(vocab):
    return collate(UNLABELED, vocab)


def snapshot(params):
    return [p.detach().clone() for p in params]


def unchanged(params, before):
    return all(torch.equal(p, b) for p, b in zip(params, before, strict=True))


def test_collate_pads_sorts_and_keeps_the_permutation(vocab):
    batch = labeled(vocab, sort_by_length=True)
    assert batch.order.tolist() == [2, 0, 1, 3]  # lengths 8, 4, 3, 2
    assert batch.lengths.tolist() == [8, 4, 3, 2]
    assert batch.word_ids.shape == (4, 8)
    assert batch.mask.sum(1).tolist() == [8, 4, 3, 2]
    assert batch.ner[3].tolist() == [1, 1] + [IGNORE_INDEX] * 6
    assert batch.word_ids[3, 2:].eq(PAD_ID).all()
    # aspirin induced asthma . : one spelling table row each, 0 at padding, "." shared with sentence 2
    rows = batch.spelling_index[1].tolist()
    assert rows[4:] == [0] * 4 and 0 not in rows[:4] and rows[3] == batch.spelling_index[0, 7]
    assert batch.spelling_lengths[rows[:4]].tolist() == [7, 7, 6, 1] and batch.spelling_lengths[0] == 0
    assert len(batch.spellings) == 1 + len({w.lower() for s in SENTENCES for w in s})
    assert collate([["zzz-unseen"]], vocab).word_ids.tolist() == [[UNK_ID]]
    with pytest.raises(ValueError, match="sentence 1 has 3 tokens and 2 ner labels"):
        collate(SENTENCES, vocab, [NER[0], [0, 0], NER[2], NER[3]])
    with pytest.raises(ValueError, match="empty"):
        collate([[]], vocab)


def _packed_reference(lstm, x, lengths):
    """What ``run_lstm`` replaced: ``lstm`` over the packed sequences (outputs zero at padding)."""
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, (h_n, _) = lstm(packed)
    padded, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return padded, torch.cat([h_n[-2], h_n[-1]], dim=-1)


@pytest.mark.parametrize("train", [True, False])
def test_padded_bilstm_matches_the_packed_one(train):
    gen = torch.Generator().manual_seed(0)
    lstm = torch.nn.LSTM(7, 5, batch_first=True, bidirectional=True).train(train)
    lengths = torch.tensor([3, 9, 1, 6, 9, 2, 4])  # unsorted, a length-1 row, ties at the max
    x = torch.randn(len(lengths), 9, 7, generator=gen)
    weight_out, weight_final = torch.randn(len(lengths), 9, 10, generator=gen), torch.randn(len(lengths), 10)
    results = []
    for run in (_packed_reference, network.run_lstm):
        lstm.zero_grad()
        inputs = x.clone().requires_grad_()
        out, final = run(lstm, inputs, lengths)
        ((out * weight_out).sum() + (final * weight_final).sum()).backward()
        results.append([out, final, inputs.grad] + [p.grad.clone() for p in lstm.parameters()])
    for want, got in zip(*results, strict=True):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
    out = results[1][0]
    assert out[2, 1:].eq(0).all() and out[0, 3:].eq(0).all()  # padding stays exactly zero


def test_model_matches_the_packed_lstms_on_all_words_at_once(vocab, monkeypatch):
    batch = labeled(vocab)
    model = build(vocab)
    padded = model(batch)
    monkeypatch.setattr(network, "run_lstm",
                        lambda lstm, x, lengths: _packed_reference(lstm, x.float(), lengths))
    monkeypatch.setattr(network, "CHAR_CHUNKS", 1)
    packed = model(batch)
    torch.testing.assert_close(padded.e, packed.e, atol=1e-6, rtol=1e-5)
    for task in ("ner", "nen"):
        torch.testing.assert_close(padded.logits[task], packed.logits[task], atol=1e-6, rtol=1e-5)


def test_char_features_once_per_spelling_equal_once_per_word(vocab):
    # "." and "in" recur; "Aspirin" and "aspirin" are one spelling (characters are lower-cased).
    batch = collate([*SENTENCES, ["aspirin", "in", "."]], vocab)
    assert batch.spelling_index[0, 0] == batch.spelling_index[4, 0]
    chars = build(vocab).encoder.chars
    results = []
    for distinct in (False, True):
        chars.distinct_spellings = distinct
        chars.zero_grad()
        out = chars(batch.spellings, batch.spelling_lengths, batch.spelling_index)
        (out * torch.linspace(-1, 1, out.numel()).reshape(out.shape)).sum().backward()
        results.append((out.detach(), [p.grad.clone() for p in chars.parameters()]))
    (per_word, grads_word), (per_spelling, grads_spelling) = results
    torch.testing.assert_close(per_spelling, per_word, atol=1e-7, rtol=1e-6)
    assert per_spelling[batch.spelling_index == 0].eq(0).all()  # padding words stay zero
    for a, b in zip(grads_spelling, grads_word, strict=True):
        torch.testing.assert_close(a, b, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("chunks", [1, 3])
def test_spelling_features_are_the_packed_bilstm_final_states(vocab, chunks, monkeypatch):
    monkeypatch.setattr(network, "CHAR_CHUNKS", chunks)
    chars = build(vocab).encoder.chars
    spellings = collate(SENTENCES + UNLABELED, vocab).spellings
    lengths = (spellings != PAD_ID).sum(1)
    weight = torch.linspace(-1, 1, len(spellings) * chars.out_dim).reshape(len(spellings), -1)
    results = []
    for packed in (True, False):
        chars.zero_grad()
        if packed:
            real = lengths > 0
            final = _packed_reference(chars.lstm, chars.embedding(spellings[real]), lengths[real])[1]
            out = torch.zeros(len(spellings), chars.out_dim).index_put((real,), final)
        else:
            out = chars.spelling_features(spellings, lengths)
        (out * weight).sum().backward()
        results.append([out.detach()] + [p.grad.clone() for p in chars.parameters()])
    for want, got in zip(*results, strict=True):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
    assert results[1][0][0].eq(0).all()  # row 0, the padding spelling


def test_length_sorted_batches_cover_the_pool_once():
    chunks = length_sorted_batches([3, 9, 1, 9, 4], 2)
    assert [c.tolist() for c in chunks] == [[1, 3], [4, 0], [2]]


def test_forward_shapes(vocab):
    model = build(vocab)
    batch = labeled(vocab)
    out = model(batch)
    assert out.e.shape == (4, 8, 2 * HIDDEN)
    assert out.logits["ner"].shape == (4, 8, N_NER)
    assert out.logits["nen"].shape == (4, 8, N_NEN)
    assert out.private["ner"].shape == out.private["nen"].shape == (4, 8, 2 * HIDDEN)
    assert model.td_logits(out.private["ner"], batch).shape == (4, 2)
    assert model.dd_logits(out.e, batch).shape == (4,)
    assert out.e[3, 2:].abs().sum() == 0  # the BiLSTM leaves padding at zero


def test_defaults_follow_the_release(vocab):
    model = MTAALModel(vocab.embedding_matrix(None, 6), len(vocab.chars), N_NER, N_NEN)
    assert model.encoder.lstm.hidden_size == 64 and model.encoder.chars.lstm.hidden_size == 64
    assert not model.encoder.word_embedding.weight.requires_grad
    opts = make_optimizers(model)
    assert opts.task.defaults["lr"] == 1e-3 and opts.task.defaults["betas"] == (0.9, 0.9)
    assert opts.td.defaults["betas"] == (0.5, 0.5)
    task_ids = {id(p) for p in opts.task.param_groups[0]["params"]}
    assert not task_ids & {id(p) for p in model.td_parameters() + model.dd_parameters()}
    assert {id(p) for p in opts.dd_encoder.param_groups[0]["params"]} == {
        id(p) for p in model.encoder_parameters()
    }
    assert BATCH_SIZE == 32


def test_settings_switch_parts_on_and_off(vocab):
    with pytest.raises(ConfigError, match="use_td needs both tasks"):
        ModelSettings(tasks={"ner"})
    with pytest.raises(ConfigError, match="subset"):
        ModelSettings(tasks={"pos"}, use_td=False)
    model = build(vocab, settings=ModelSettings(tasks={"nen"}, use_td=False, use_dd=False))
    assert list(model.decoders) == ["nen"] and model.td is None and model.dd is None
    opts = make_optimizers(model)
    assert opts.td is None and opts.dd is None
    loss = train_task_epoch(model, [labeled(vocab)], opts.task)
    assert math.isfinite(loss)
    with pytest.raises(ConfigError):
        model.dd_logits(torch.zeros(1, 1, 2 * HIDDEN), labeled(vocab))


def test_padding_does_not_change_predictions(vocab):
    model = build(vocab)
    alone = predict_proba(model, collate([SENTENCES[3]], vocab))
    padded = predict_proba(model, collate(SENTENCES, vocab, sort_by_length=True))
    for task in ("ner", "nen"):
        assert padded[task][3].shape == (2, N_NER if task == "ner" else N_NEN)
        np.testing.assert_allclose(padded[task][3], alone[task][0], atol=1e-5)
        np.testing.assert_allclose(padded[task][3].sum(-1), 1.0, atol=1e-5)
    div_alone = diversity_scores(model, collate([SENTENCES[3]], vocab))
    div_padded = diversity_scores(model, collate(SENTENCES, vocab, sort_by_length=True))
    assert div_padded[3] == pytest.approx(div_alone[0], abs=1e-5)
    assert ((div_padded > 0) & (div_padded < 1)).all()


def test_predict_pool_returns_input_order(vocab):
    model = build(vocab)
    pool = predict_pool(model, SENTENCES, vocab, batch_size=3, with_diversity=True)
    direct = predict_proba(model, labeled(vocab))
    for a, b in zip(pool.probs["nen"], direct["nen"], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(pool.diversity, diversity_scores(model, labeled(vocab)), atol=1e-5)
    labels = predict_labels(model, labeled(vocab))
    assert [len(x) for x in labels["ner"]] == [4, 3, 8, 2]


def test_task_loss_ignores_padding():
    # Uniform logits on real tokens give ln(n_labels) per task; the huge logits at padding must not count.
    ner = torch.zeros(1, 3, N_NER)
    nen = torch.zeros(1, 3, N_NEN)
    ner[0, 2] = torch.tensor([100.0, -100.0, 0.0])
    targets = {"ner": torch.tensor([[0, 1, IGNORE_INDEX]]), "nen": torch.tensor([[4, 0, IGNORE_INDEX]])}
    loss = task_loss({"ner": ner, "nen": nen}, targets)
    assert loss.item() == pytest.approx(math.log(N_NER) + math.log(N_NEN), rel=1e-6)


def test_adversarial_loss_values():
    zeros2 = torch.zeros(3, 2)
    td = td_adversarial_losses(zeros2, zeros2)
    assert td.discriminator.item() == pytest.approx(2 * math.log(2))
    assert td.encoder.item() == pytest.approx(-2 * math.log(2))
    confident = td_adversarial_losses(torch.tensor([[20.0, -20.0]]), torch.tensor([[-20.0, 20.0]]))
    assert confident.discriminator.item() < 1e-6  # NER -> class 0, NEN -> class 1
    assert dd_loss(torch.zeros(2), torch.zeros(4)).item() == pytest.approx(2 * math.log(2))
    # DD right about both sets: labeled logit +20, unlabeled -20.
    assert dd_loss(torch.tensor([20.0]), torch.tensor([-20.0])).item() < 1e-6
    assert encoder_dd_loss(torch.zeros(4)).item() == pytest.approx(math.log(2))
    assert encoder_dd_loss(torch.zeros(4), torch.zeros(2)).item() == pytest.approx(2 * math.log(2))
    # The encoder's Eq. 4 is small exactly when DD calls the unlabeled sentences labeled.
    assert encoder_dd_loss(torch.tensor([20.0])).item() < 1e-6


def p_labeled_on_unlabeled(model, vocab):
    return float(np.mean(1.0 - diversity_scores(model, unlabeled(vocab))))


def test_dd_step_lowers_dd_loss_and_moves_only_dd(vocab):
    model = build(vocab)
    opts = make_optimizers(model, adv_lr=1e-2)
    lab, unl = labeled(vocab), unlabeled(vocab)
    before = dd_loss_value(model, lab, unl)
    enc = snapshot(model.encoder_parameters())
    dd_discriminator_step(model, lab, unl, opts.dd)
    assert dd_loss_value(model, lab, unl) < before
    assert unchanged(model.encoder_parameters(), enc)


def p_labeled(model, batch):
    return float(np.mean(1.0 - diversity_scores(model, batch)))


def test_eq4_two_terms_move_the_encoder_towards_labeled_on_both_sets(vocab):
    # Eq. 4: the encoder makes DD call labeled *and* unlabeled sentences labeled. From the same model,
    # the two-term step raises P(labeled) on the unlabeled batch, and on the labeled batch more than the
    # unlabeled term alone does; DD and the decoders do not move.
    lab, unl = labeled(vocab), unlabeled(vocab)
    moved = {}
    for both in (True, False):
        model = build(vocab)
        opts = make_optimizers(model, adv_lr=1e-2)
        before = p_labeled(model, unl), p_labeled(model, lab)
        dd, dec = snapshot(model.dd_parameters()), snapshot(model.decoder_parameters())
        loss = dd_encoder_step(model, lab, unl, opts.dd_encoder, include_labeled=both)
        assert unchanged(model.dd_parameters(), dd) and unchanged(model.decoder_parameters(), dec)
        moved[both] = (p_labeled(model, unl) - before[0], p_labeled(model, lab) - before[1], loss)
    assert moved[True][0] > 0 and moved[True][1] > 0
    assert moved[True][1] > moved[False][1]
    assert moved[True][2] > moved[False][2]  # the labeled term adds its own -log DD(E(x_l))
    with pytest.raises(ValueError, match="labeled batch"):
        dd_encoder_step(build(vocab), None, unl, make_optimizers(build(vocab)).dd_encoder)


def test_task_discriminator_reads_the_attention_output(vocab):
    # p_k = Attention(Q, K, V; θ_k) (paper; release models.py feeds ner_att to discrim_task): the
    # decoder BiLSTM after the attention does not reach TD, the attention does.
    model = build(vocab)
    batch = labeled(vocab)
    with torch.no_grad():
        out = model(batch)
        attended = model.decoders["ner"].attention(out.e, batch.mask)
        torch.testing.assert_close(out.private["ner"], attended)
        before = model.td_logits(model(batch).private["ner"], batch)
        for weight in model.decoders["ner"].lstm.parameters():
            weight.add_(1.0)
        torch.testing.assert_close(model.td_logits(model(batch).private["ner"], batch), before)
        model.decoders["ner"].attention.value.weight.add_(1.0)
        assert not torch.allclose(model.td_logits(model(batch).private["ner"], batch), before)


@pytest.mark.parametrize(("init", "bound"), [("paper", math.sqrt(3 / 30)), ("keras", 0.05)])
def test_char_embeddings_start_uniform_in_the_papers_or_kerass_range(vocab, init, bound):
    emb = vocab.embedding_matrix(None, 6, seed=1)
    model = MTAALModel(emb, 200, N_NER, N_NEN, hidden=HIDDEN, char_dim=30, char_init=init, seed=0)
    weight = model.encoder.chars.embedding.weight.detach()
    assert weight[PAD_ID].abs().sum() == 0
    rows = weight[1:]
    assert rows.abs().max() <= bound and rows.abs().max() > 0.95 * bound
    assert rows.mean().abs() < 0.05 * bound  # centred: uniform, not a one-sided or N(0, 1) draw
    with pytest.raises(ConfigError, match="char_init"):
        MTAALModel(emb, 10, N_NER, N_NEN, hidden=HIDDEN, char_init="normal")


def test_word_discriminators_score_one_minus_the_product_over_words(vocab):
    model = build(vocab, discriminators="word")
    batch = labeled(vocab)
    out = model(batch)
    assert model.td_logits(out.private["ner"], batch).shape == (4, 8, 2)
    logits = model.dd_logits(out.e, batch)
    assert logits.shape == (4, 8)
    p = torch.sigmoid(logits.detach().double())
    expected = [1.0 - float(torch.prod(p[row, : n])) for row, n in enumerate(batch.lengths.tolist())]
    np.testing.assert_allclose(diversity_scores(model, batch)[batch.order], expected, rtol=1e-6)
    # Padding takes no part: a sentence alone scores as in a padded batch; losses average real tokens.
    alone = diversity_scores(model, collate([SENTENCES[3]], vocab))
    assert diversity_scores(model, labeled(vocab))[3] == pytest.approx(alone[0], abs=1e-6)
    padded = torch.zeros(1, 3)
    padded[0, 2] = 50.0  # a confident "labeled" at a padding position must not lower the loss
    mask = torch.tensor([[True, True, False]])
    assert dd_loss(padded, torch.zeros(1, 3), mask, mask).item() == pytest.approx(2 * math.log(2))
    with pytest.raises(ConfigError, match="discriminators"):
        build(vocab, discriminators="token")


def test_td_step_lowers_td_loss_and_leaves_the_encoder(vocab):
    model = build(vocab)
    opts = make_optimizers(model, adv_lr=1e-2)
    batch = labeled(vocab)
    before = td_loss_value(model, batch)
    enc = snapshot(model.encoder_parameters())
    td_discriminator_step(model, batch, opts.td)
    assert td_loss_value(model, batch) < before
    assert unchanged(model.encoder_parameters(), enc)


def test_encoder_td_step_raises_td_loss_and_moves_only_the_encoder(vocab):
    model = build(vocab)
    opts = make_optimizers(model, adv_lr=1e-2)
    batch = labeled(vocab)
    before = td_loss_value(model, batch)
    others = snapshot(model.decoder_parameters() + model.td_parameters())
    enc = snapshot(model.encoder_parameters())
    returned = td_encoder_step(model, batch, opts.td_encoder)
    assert returned == pytest.approx(-before, rel=1e-5)  # the encoder's loss is -td_loss
    assert td_loss_value(model, batch) > before
    assert unchanged(model.decoder_parameters() + model.td_parameters(), others)
    assert not unchanged(model.encoder_parameters(), enc)


def test_combined_steps_report_both_losses(vocab):
    model = build(vocab)
    opts = make_optimizers(model)
    td = adversarial_td_step(model, labeled(vocab), opts.td, opts.td_encoder)
    dd = adversarial_dd_step(model, labeled(vocab), unlabeled(vocab), opts.dd, opts.dd_encoder)
    assert set(td) == {"td_loss", "encoder_td_loss"} and set(dd) == {"dd_loss", "encoder_dd_loss"}
    assert all(math.isfinite(v) for v in [*td.values(), *dd.values()])


def test_task_training_lowers_the_task_loss(vocab):
    model = build(vocab)
    opts = make_optimizers(model)
    batches = [labeled(vocab)]
    first = train_task_epoch(model, batches, opts.task)
    for _ in range(8):
        last = train_task_epoch(model, batches, opts.task)
    assert last < first


def test_same_seed_same_parameters_after_a_step(vocab):
    states = []
    for _ in range(2):
        model = build(vocab, seed=3)
        opts = make_optimizers(model)
        batches = iter_batches(SENTENCES, vocab, NER, NEN, batch_size=2, rng=np.random.default_rng(5))
        train_task_epoch(model, batches, opts.task)
        adversarial_td_step(model, labeled(vocab), opts.td, opts.td_encoder)
        states.append(model.state_dict())
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    key = "encoder.lstm.weight_ih_l0"
    assert not torch.equal(build(vocab, seed=4).state_dict()[key], build(vocab, seed=3).state_dict()[key])


def test_seeded_init_leaves_the_global_rng_alone(vocab):
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    build(vocab, seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_iter_batches_shuffles_with_the_seed_and_keeps_the_tail(vocab):
    sizes = [len(b) for b in iter_batches(SENTENCES, vocab, NER, NEN, batch_size=3)]
    assert sizes == [3, 1]
    dropped = list(iter_batches(SENTENCES, vocab, batch_size=3, drop_last=True))
    assert [len(b) for b in dropped] == [3]
    a = next(iter_batches(SENTENCES, vocab, NER, batch_size=4, rng=np.random.default_rng(2)))
    b = next(iter_batches(SENTENCES, vocab, NER, batch_size=4, rng=np.random.default_rng(2)))
    assert torch.equal(a.word_ids, b.word_ids)


@pytest.mark.parametrize("reuse", [True, False])
def test_adversarial_steps_report_the_losses_before_their_updates(vocab, reuse):
    # Both paths: the TD side's loss is the loss before any step, the encoder's is -(TD loss after TD moved).
    model = build(vocab)
    opts = make_optimizers(model, adv_lr=1e-2)
    batch = labeled(vocab)
    before = td_loss_value(model, batch)
    td = adversarial_td_step(model, batch, opts.td, opts.td_encoder, reuse_encoding=reuse)
    assert td["td_loss"] == pytest.approx(before, rel=1e-5)
    assert td["encoder_td_loss"] < 0


def test_bucket_order_keeps_the_sentences_and_groups_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 60, size=203)
    order = rng.permutation(203)
    bucketed = bucket_order(order, lengths[order], 8, 5, np.random.default_rng(1))
    assert sorted(bucketed.tolist()) == list(range(203))
    spread = [np.ptp(lengths[bucketed[i : i + 8]]) for i in range(0, 200, 8)]
    shuffled = [np.ptp(lengths[order[i : i + 8]]) for i in range(0, 200, 8)]
    assert np.mean(spread) < np.mean(shuffled) / 3
    assert np.array_equal(bucket_order(order, lengths[order], 8, 0, rng), order)
    # Seeded: the same rng state gives the same batches.
    again = bucket_order(order, lengths[order], 8, 5, np.random.default_rng(1))
    assert np.array_equal(bucketed, again)
