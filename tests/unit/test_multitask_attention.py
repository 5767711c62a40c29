"""The CPU training attention (``exact_sdpa_attention``) gives sdpa's numbers bit for bit.

``MultiTaskTagger`` switches its encoder to ``mtaal.multitask.model.exact_sdpa_attention``: in training on the
CPU it replaces the composite math path of torch's ``scaled_dot_product_attention`` by the same ops with the
same dropout draws, but less memory and time. These tests fail if it changes any loss, logit, gradient or
weight, or the random stream that later dropouts draw from.
"""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from mtaal.multitask import model as model_module
from mtaal.multitask.model import (
    EXACT_SDPA,
    MultiTaskTagger,
    exact_sdpa_attention,
    load_encoder,
    save_encoder,
    tiny_encoder,
)
from mtaal.multitask.settings import TrainSettings
from mtaal.multitask.steps import make_optimizer, train_step

torch.set_num_threads(1)


def tagger(exact: bool, *, seed: int = 0, **encoder_kwargs) -> MultiTaskTagger:
    torch.manual_seed(seed)
    model = MultiTaskTagger(tiny_encoder(**encoder_kwargs), {"a": 3, "b": 5})
    if not exact:
        model.encoder.set_attn_implementation("sdpa")
    model.train()
    return model


def batch(n: int, length: int, n_labels: int, padded: bool, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(4, 64, (n, length), generator=g)
    mask = torch.ones(n, length, dtype=torch.long)
    labels = torch.randint(0, n_labels, (n, length), generator=g)
    labels[:, 0] = -100
    if padded:  # rows of other lengths, padded as pad_batch does
        for row in range(1, n):
            cut = max(2, length - 3 * row)
            ids[row, cut:], mask[row, cut:], labels[row, cut:] = 0, 0, -100
    return ids, mask, labels


def test_the_tagger_uses_the_exact_attention_and_a_saved_encoder_does_not_carry_it(tmp_path):
    model = tagger(exact=True)
    assert model.encoder.config._attn_implementation == EXACT_SDPA
    save_encoder(model.encoder, tmp_path)
    assert load_encoder(tmp_path).config._attn_implementation == "sdpa"


@pytest.mark.parametrize("padded", [False, True])
def test_forward_and_backward_equal_to_sdpa(padded):
    results = []
    for exact in (False, True):
        model = tagger(exact)
        ids, mask, labels = batch(4, 24, 3, padded)
        torch.manual_seed(7)
        logits = model(ids, mask, "a")
        loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
        loss.backward()
        grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
        results.append((logits.detach(), loss.detach(), grads, torch.rand(4)))
    (logits_a, loss_a, grads_a, next_a), (logits_b, loss_b, grads_b, next_b) = results
    assert torch.equal(logits_a, logits_b)
    assert torch.equal(loss_a, loss_b)
    assert grads_a.keys() == grads_b.keys()
    assert len(grads_a) > 10
    for name in grads_a:
        assert torch.equal(grads_a[name], grads_b[name]), name
    assert torch.equal(next_a, next_b)  # the same random draws consumed


def test_training_steps_and_weights_equal_to_sdpa():
    """Several fused-AdamW steps over two tasks and padded batches: same losses, same weights after."""
    runs = []
    for exact in (False, True):
        model = tagger(exact, hidden_size=48, num_attention_heads=4, num_hidden_layers=2)
        optimizer = make_optimizer(model, TrainSettings(learning_rate=1e-3))
        losses = []
        for step in range(4):
            task, n_labels = ("a", 3) if step % 2 == 0 else ("b", 5)
            ids, mask, labels = batch(3, 20 + step, n_labels, padded=step > 0, seed=step)
            torch.manual_seed(100 + step)
            losses.append(train_step(model, optimizer, None, task, ids, mask, labels, torch.device("cpu")))
        runs.append((losses, copy.deepcopy(model.state_dict())))
    (losses_a, state_a), (losses_b, state_b) = runs
    assert losses_a == losses_b
    for name in state_a:
        assert torch.equal(state_a[name], state_b[name]), name


def test_the_exact_path_runs_in_training_only(monkeypatch):
    calls = []
    original = model_module._DropoutMatmul.apply
    monkeypatch.setattr(model_module._DropoutMatmul, "apply", lambda *a: calls.append(1) or original(*a))
    model = tagger(exact=True)
    ids, mask, _ = batch(2, 10, 3, padded=True)
    model(ids, mask, "a").sum().backward()
    assert len(calls) == 2  # one per layer
    model.eval()
    with torch.inference_mode():
        model(ids, mask, "a")
    assert len(calls) == 2


class _Module(torch.nn.Module):
    is_causal = False


@pytest.mark.parametrize("fully_masked_row", [False, True])
def test_attention_function_equal_to_sdpa_with_bool_masks(fully_masked_row):
    """Called directly, as transformers calls it: a (batch, 1, L, L) bool mask, a fully masked row or not."""
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(2, 3, 9, 8, generator=g, requires_grad=True) for _ in range(3))
    mask = torch.ones(2, 1, 9, 9, dtype=torch.bool)
    mask[1, :, :, 6:] = False
    if fully_masked_row:
        mask[0, :, 4, :] = False
    outs = []
    for fn in (sdpa_attention_forward, exact_sdpa_attention):
        torch.manual_seed(11)
        out, _ = fn(_Module(), q, k, v, mask, dropout=0.1, scaling=1 / math.sqrt(8))
        grads = torch.autograd.grad(out.square().sum(), (q, k, v))
        outs.append((out.detach(), grads))
    assert torch.equal(outs[0][0], outs[1][0])
    for a, b in zip(outs[0][1], outs[1][1], strict=True):
        assert torch.equal(a, b)


def test_bernoulli_into_bool_draws_as_into_float():
    """The assumption under the bool dropout mask: the same draws, and the same state after."""
    torch.manual_seed(0)
    as_float = torch.empty(5000).bernoulli_(0.9)
    after_float = torch.rand(3)
    torch.manual_seed(0)
    as_bool = torch.empty(5000, dtype=torch.bool).bernoulli_(0.9)
    after_bool = torch.rand(3)
    assert torch.equal(as_float, as_bool.float())
    assert torch.equal(after_float, after_bool)
