"""The MTAAL objectives (Zhou et al., AAAI 2021, Eqs. 1-4), their optimisers and the training steps.

The adversarial games, with the parameter set each party updates (one Adam per party, as in the release):

* Task loss (Eq. 1): ``L_task = L_NER + L_NEN``; encoder + decoders minimise it.
* Task discriminator (Eq. 2): value ``V_TD = mean log TD(NER | p_ner) + mean log TD(NEN | p_nen)``.
  The decoders + TD maximise ``V_TD`` (they minimise ``td_loss = -V_TD``, a cross-entropy);
  the shared encoder minimises ``V_TD`` (it minimises ``encoder_td_loss = -td_loss``).
* Diversity discriminator (Eq. 3): DD minimises ``BCE(DD(E(x_l)), 1) + BCE(DD(E(x_u)), 0)``.
* Encoder against DD (Eq. 4): the encoder minimises ``BCE(DD(E(x_l)), 1) + BCE(DD(E(x_u)), 1)``: it tries
  to make DD call every sentence labeled (both terms, as Eq. 4 and the release; ``include_labeled=False``
  leaves the labeled one out).

Every step moves only its own party's parameters (:func:`_step` clears the gradients left on the others).
With ``discriminators="word"`` the TD / DD losses average over real tokens (the ``mask`` arguments).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from mtaal.active.batching import IGNORE_INDEX, Batch
from mtaal.active.network import MTAALModel, autocast_for

TASK_LABEL = {"ner": 0, "nen": 1}  # TD's classes

# Optimiser settings of the authors' release (params.py / models.py).
LR = 1e-3
BETAS = (0.9, 0.9)
ADV_LR = 1e-4
TD_BETAS = (0.5, 0.5)
DD_BETAS = (0.9, 0.999)


# -------------------------------------------------------------------------------- losses


def task_loss(logits: Mapping[str, Tensor], targets: Mapping[str, Tensor]) -> Tensor:
    """Eq. 1: ``L_NER + L_NEN``, each a token cross-entropy averaged over non-padding tokens."""
    total = None
    for task, task_logits in logits.items():
        gold = targets[task]
        loss = F.cross_entropy(
            task_logits.float().reshape(-1, task_logits.shape[-1]),
            gold.reshape(-1),
            ignore_index=IGNORE_INDEX,
        )
        total = loss if total is None else total + loss
    if total is None:
        raise ValueError("task_loss: no task logits")
    return total


@dataclass
class TDLosses:
    """``discriminator`` is minimised by decoders + TD (= -V_TD), ``encoder`` by the encoder (= V_TD)."""

    discriminator: Tensor
    encoder: Tensor


def _real(logits: Tensor, mask: Tensor | None) -> Tensor:
    """Per-word logits (B, S, ...) at real tokens only, flattened; per-sentence logits as they are."""
    return logits.float() if mask is None else logits.float()[mask]


def td_adversarial_losses(
    td_logits_ner: Tensor, td_logits_nen: Tensor, mask: Tensor | None = None
) -> TDLosses:
    """Eq. 2 as two losses: ``CE(TD(p_ner), NER) + CE(TD(p_nen), NEN)`` and its negation. ``mask``: the
    logits are per word and the cross-entropies average over the real tokens."""
    ner, nen = _real(td_logits_ner, mask), _real(td_logits_nen, mask)
    ner_target = torch.full((ner.shape[0],), TASK_LABEL["ner"], device=ner.device)
    nen_target = torch.full((nen.shape[0],), TASK_LABEL["nen"], device=nen.device)
    loss = F.cross_entropy(ner, ner_target) + F.cross_entropy(nen, nen_target)
    return TDLosses(discriminator=loss, encoder=-loss)


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def dd_loss(
    dd_logits_labeled: Tensor,
    dd_logits_unlabeled: Tensor,
    mask_labeled: Tensor | None = None,
    mask_unlabeled: Tensor | None = None,
) -> Tensor:
    """Eq. 3, minimised by DD: ``BCE(DD(E(x_l)), 1) + BCE(DD(E(x_u)), 0)`` (each averaged over its batch,
    or over its real tokens when masks say the logits are per word)."""
    return _bce(_real(dd_logits_labeled, mask_labeled), 1.0) + _bce(
        _real(dd_logits_unlabeled, mask_unlabeled), 0.0
    )


def encoder_dd_loss(
    dd_logits_unlabeled: Tensor,
    dd_logits_labeled: Tensor | None = None,
    mask_unlabeled: Tensor | None = None,
    mask_labeled: Tensor | None = None,
) -> Tensor:
    """Eq. 4, minimised by the encoder: ``BCE(DD(E(x_u)), 1)`` + ``BCE(DD(E(x_l)), 1)`` (the labeled term
    when ``dd_logits_labeled`` is given)."""
    loss = _bce(_real(dd_logits_unlabeled, mask_unlabeled), 1.0)
    if dd_logits_labeled is not None:
        loss = loss + _bce(_real(dd_logits_labeled, mask_labeled), 1.0)
    return loss


# -------------------------------------------------------------------------------- optimisers


@dataclass
class Optimizers:
    """One Adam per party. ``td`` updates decoders + TD, ``td_encoder`` / ``dd_encoder`` the encoder only."""

    task: torch.optim.Optimizer
    td: torch.optim.Optimizer | None = None
    td_encoder: torch.optim.Optimizer | None = None
    dd: torch.optim.Optimizer | None = None
    dd_encoder: torch.optim.Optimizer | None = None


def make_optimizers(
    model: MTAALModel,
    *,
    lr: float = LR,
    betas: tuple[float, float] = BETAS,
    adv_lr: float = ADV_LR,
    td_betas: tuple[float, float] = TD_BETAS,
    dd_betas: tuple[float, float] = DD_BETAS,
) -> Optimizers:
    """Adam optimisers with the release's settings: task lr 1e-3, betas (0.9, 0.9); TD games lr 1e-4,
    betas (0.5, 0.5); DD games lr 1e-4, Adam's default betas."""
    opts = Optimizers(task=torch.optim.Adam(model.task_parameters(), lr=lr, betas=betas))
    if model.td is not None:
        opts.td = torch.optim.Adam(
            model.decoder_parameters() + model.td_parameters(), lr=adv_lr, betas=td_betas
        )
        opts.td_encoder = torch.optim.Adam(model.encoder_parameters(), lr=adv_lr, betas=td_betas)
    if model.dd is not None:
        opts.dd = torch.optim.Adam(model.dd_parameters(), lr=adv_lr, betas=dd_betas)
        opts.dd_encoder = torch.optim.Adam(model.encoder_parameters(), lr=adv_lr, betas=dd_betas)
    return opts


# -------------------------------------------------------------------------------- training steps


def _step(
    model: MTAALModel, loss: Tensor, optimizer: torch.optim.Optimizer, inputs: list[Tensor] | None = None
) -> float:
    """Backpropagate ``loss`` and step only ``optimizer``; gradients left on other parties are cleared.
    ``inputs``: the only parameters to compute gradients for (the stepped party's; skips the others')."""
    model.zero_grad(set_to_none=True)
    loss.backward(inputs=inputs)
    optimizer.step()
    model.zero_grad(set_to_none=True)
    return float(loss.detach())


def _targets(model: MTAALModel, batch: Batch) -> dict[str, Tensor]:
    return {task: batch.labels(task).to(model.device) for task in model.tasks}


def train_task_epoch(model: MTAALModel, batches: Iterable[Batch], optimizer: torch.optim.Optimizer) -> float:
    """One pass of Eq. 1 over ``batches``; returns the token-weighted mean task loss (nan for no batches)."""
    model.train()
    total, weight = 0.0, 0
    for batch in batches:
        batch = batch.to(model.device)
        with autocast_for(model.device):
            out = model(batch)
        loss = task_loss(out.logits, _targets(model, batch))
        n_tokens = int(batch.lengths.sum())
        total += _step(model, loss, optimizer) * n_tokens
        weight += n_tokens
    return total / weight if weight else float("nan")


def _encode(model: MTAALModel, batch: Batch, *, detach: bool, pool_side: bool = False) -> Tensor:
    """The latent sequence; with ``detach`` no graph is kept through the encoder (its party does not move).
    ``pool_side``: the DD game's unlabeled batch."""
    if detach:
        with torch.no_grad():
            return model.encode(batch, pool_side=pool_side)
    return model.encode(batch, pool_side=pool_side)


def _td_losses(model: MTAALModel, batch: Batch, *, detach_encoder: bool) -> TDLosses:
    with autocast_for(model.device):
        out = model.decode(_encode(model, batch, detach=detach_encoder), batch)
        logits_ner = model.td_logits(out.private["ner"], batch)
        logits_nen = model.td_logits(out.private["nen"], batch)
    return td_adversarial_losses(logits_ner, logits_nen, model.discriminator_mask(batch))


def td_loss_value(model: MTAALModel, batch: Batch) -> float:
    """TD's loss (``TDLosses.discriminator``) on ``batch`` without training anything."""
    with torch.no_grad():
        return float(_td_losses(model, batch.to(model.device), detach_encoder=True).discriminator)


def td_discriminator_step(model: MTAALModel, batch: Batch, td_optimizer: torch.optim.Optimizer) -> float:
    """Decoders + TD take one step down ``td_loss`` (they maximise V_TD). Returns the loss before the step."""
    model.train()
    batch = batch.to(model.device)
    return _step(model, _td_losses(model, batch, detach_encoder=True).discriminator, td_optimizer)


def td_encoder_step(model: MTAALModel, batch: Batch, encoder_optimizer: torch.optim.Optimizer) -> float:
    """The encoder takes one step down ``-td_loss`` (it minimises V_TD). Returns that loss before the step."""
    model.train()
    batch = batch.to(model.device)
    return _step(model, _td_losses(model, batch, detach_encoder=False).encoder, encoder_optimizer)


def _td_losses_from(model: MTAALModel, e: Tensor, batch: Batch) -> TDLosses:
    """Eq. 2 from a computed latent ``e``: TD reads only the attention outputs ``p_k``, so the decoders'
    BiLSTMs and output layers (which ``_td_losses`` runs and discards) are not run."""
    with autocast_for(model.device):
        private = {task: decoder.attention(e, batch.mask) for task, decoder in model.decoders.items()}
        logits_ner = model.td_logits(private["ner"], batch)
        logits_nen = model.td_logits(private["nen"], batch)
    return td_adversarial_losses(logits_ner, logits_nen, model.discriminator_mask(batch))


def adversarial_td_step(
    model: MTAALModel,
    batch: Batch,
    td_optimizer: torch.optim.Optimizer,
    encoder_optimizer: torch.optim.Optimizer,
    *,
    reuse_encoding: bool = True,
) -> dict[str, float]:
    """One round of Eq. 2 on ``batch`` (labels unused, so labeled and unlabeled batches both serve):
    TD side first, then the encoder, as in the release.

    ``reuse_encoding``: encode ``batch`` once for both sides (the TD side's step leaves the encoder as it
    was, so a second encoding would be the same), skip the decoder parts TD does not read and compute
    gradients only for the encoder on its side; the same losses and updates as ``False`` (two full
    forward passes, :func:`td_discriminator_step` then :func:`td_encoder_step`), in about half the time.
    """
    if not reuse_encoding:
        td = td_discriminator_step(model, batch, td_optimizer)
        enc = td_encoder_step(model, batch, encoder_optimizer)
        return {"td_loss": td, "encoder_td_loss": enc}
    model.train()
    batch = batch.to(model.device)
    with autocast_for(model.device):
        e = model.encode(batch)
    td = _step(model, _td_losses_from(model, e.detach(), batch).discriminator, td_optimizer)
    enc = _step(model, _td_losses_from(model, e, batch).encoder, encoder_optimizer,
                inputs=model.encoder_parameters())
    return {"td_loss": td, "encoder_td_loss": enc}


def _dd_logits(model: MTAALModel, batch: Batch, *, detach_encoder: bool, pool_side: bool = False) -> Tensor:
    with autocast_for(model.device):
        return model.dd_logits(_encode(model, batch, detach=detach_encoder, pool_side=pool_side), batch)


def _dd_loss(model: MTAALModel, labeled: Batch, unlabeled: Batch) -> Tensor:
    labeled, unlabeled = labeled.to(model.device), unlabeled.to(model.device)
    return dd_loss(
        _dd_logits(model, labeled, detach_encoder=True),
        _dd_logits(model, unlabeled, detach_encoder=True, pool_side=True),
        model.discriminator_mask(labeled),
        model.discriminator_mask(unlabeled),
    )


def dd_loss_value(model: MTAALModel, labeled: Batch, unlabeled: Batch) -> float:
    """DD's loss (Eq. 3) without training anything."""
    with torch.no_grad():
        return float(_dd_loss(model, labeled, unlabeled))


def dd_discriminator_step(
    model: MTAALModel, labeled: Batch, unlabeled: Batch, dd_optimizer: torch.optim.Optimizer
) -> float:
    """DD takes one step down Eq. 3 (encoder output detached). Returns the loss before the step."""
    model.train()
    return _step(model, _dd_loss(model, labeled, unlabeled), dd_optimizer)


def dd_encoder_step(
    model: MTAALModel,
    labeled: Batch | None,
    unlabeled: Batch,
    encoder_optimizer: torch.optim.Optimizer,
    *,
    include_labeled: bool = True,
) -> float:
    """The encoder takes one step down Eq. 4 (both terms; ``include_labeled=False``: the unlabeled one).
    Returns the loss before the step."""
    model.train()
    unlabeled = unlabeled.to(model.device)
    logits_u = _dd_logits(model, unlabeled, detach_encoder=False, pool_side=True)
    logits_l, mask_l = None, None
    if include_labeled:
        if labeled is None:
            raise ValueError("dd_encoder_step: include_labeled needs a labeled batch")
        labeled = labeled.to(model.device)
        logits_l = _dd_logits(model, labeled, detach_encoder=False)
        mask_l = model.discriminator_mask(labeled)
    loss = encoder_dd_loss(logits_u, logits_l, model.discriminator_mask(unlabeled), mask_l)
    return _step(model, loss, encoder_optimizer)


def adversarial_dd_step(
    model: MTAALModel,
    labeled_batch: Batch,
    unlabeled_batch: Batch,
    dd_optimizer: torch.optim.Optimizer,
    encoder_optimizer: torch.optim.Optimizer,
    *,
    include_labeled: bool = True,
    reuse_encoding: bool = True,
) -> dict[str, float]:
    """One round of the DD game: DD step on Eq. 3, then the encoder step on Eq. 4.

    ``reuse_encoding``: encode both batches once for both steps (the DD step leaves the encoder as it was)
    and compute gradients only for the encoder on its step; the same updates as ``False``."""
    if not reuse_encoding:
        dd = dd_discriminator_step(model, labeled_batch, unlabeled_batch, dd_optimizer)
        enc = dd_encoder_step(
            model, labeled_batch, unlabeled_batch, encoder_optimizer, include_labeled=include_labeled
        )
        return {"dd_loss": dd, "encoder_dd_loss": enc}
    model.train()
    labeled, unlabeled = labeled_batch.to(model.device), unlabeled_batch.to(model.device)
    mask_l, mask_u = model.discriminator_mask(labeled), model.discriminator_mask(unlabeled)
    with autocast_for(model.device):
        e_l, e_u = model.encode(labeled), model.encode(unlabeled, pool_side=True)
        logits = (model.dd_logits(e_l.detach(), labeled), model.dd_logits(e_u.detach(), unlabeled))
    dd = _step(model, dd_loss(*logits, mask_l, mask_u), dd_optimizer)
    with autocast_for(model.device):
        logits_u = model.dd_logits(e_u, unlabeled)
        logits_l = model.dd_logits(e_l, labeled) if include_labeled else None
    loss = encoder_dd_loss(logits_u, logits_l, mask_u, mask_l if include_labeled else None)
    enc = _step(model, loss, encoder_optimizer, inputs=model.encoder_parameters())
    return {"dd_loss": dd, "encoder_dd_loss": enc}
