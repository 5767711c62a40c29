"""The one checkpoint format: safetensors + a JSON tree, round-tripping real training state, no pickle."""

import math
import pickle
import random

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from mtaal.checkpoint import checkpoint_header, load_checkpoint, save_checkpoint


def trained_state():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    model[1].weight = torch.nn.Parameter(torch.randn(3, 2).T)  # a non-contiguous parameter
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (step + 1))
    for _ in range(2):
        model(torch.randn(5, 4)).sum().backward()
        optimizer.step()
        scheduler.step()
    embedding = torch.randn(6, 2)
    return model, optimizer, {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
                "generator": np.random.default_rng(3).bit_generator.state},
        "views": [embedding, embedding[2:4]],  # two tensors on one storage
        "rows": [{"epoch": 1, "f1": np.float64(0.25), "loss": math.nan, "ids": ["d1:0", "d2:3"]}],
        "tricky": {"__tensor__": "not a tag", 7: (1, 2)},
    }


def test_training_state_round_trips_and_resumes_the_same(tmp_path):
    model, optimizer, state = trained_state()
    save_checkpoint(state, tmp_path / "c.safetensors")
    back = load_checkpoint(tmp_path / "c.safetensors")
    for name, tensor in state["model"].items():
        assert torch.equal(back["model"][name], tensor)
    assert set(back["optimizer"]["state"]) == set(state["optimizer"]["state"])  # int keys stay ints
    assert back["optimizer"]["param_groups"] == state["optimizer"]["param_groups"]
    assert back["scheduler"] == state["scheduler"]
    assert back["rng"]["python"] == state["rng"]["python"]  # tuples stay tuples: setstate accepts it
    assert back["rng"]["generator"] == state["rng"]["generator"]
    assert back["tricky"] == {"__tensor__": "not a tag", 7: (1, 2)}
    assert torch.equal(back["views"][1], state["views"][0][2:4])
    assert back["rows"][0]["f1"] == 0.25 and math.isnan(back["rows"][0]["loss"])
    # the loaded state continues training exactly like the original
    random.setstate(back["rng"]["python"])
    np.random.set_state(back["rng"]["numpy"])
    torch.set_rng_state(back["rng"]["torch"])
    clone, clone_optimizer, _ = trained_state()
    clone.load_state_dict(back["model"])
    clone_optimizer.load_state_dict(back["optimizer"])
    batch = torch.randn(5, 4)
    for net, opt in ((model, optimizer), (clone, clone_optimizer)):
        opt.zero_grad()
        net(batch).sum().backward()
        opt.step()
    for left, right in zip(model.parameters(), clone.parameters(), strict=True):
        assert torch.equal(left, right)


class Planted:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # unpickling this would create the marker file
        return (open, (str(self.marker), "w"))


def test_a_pickle_is_never_unpickled(tmp_path):
    marker = tmp_path / "code-ran"
    (tmp_path / "c.safetensors").write_bytes(pickle.dumps(Planted(marker)))
    torch.save({"x": Planted(marker)}, tmp_path / "t.safetensors")
    for name in ("c.safetensors", "t.safetensors"):
        with pytest.raises(Exception):  # noqa: B017 (safetensors raises its own error types)
            load_checkpoint(tmp_path / name)
    assert not marker.exists()


def test_a_value_json_cannot_hold_is_refused_and_nothing_is_written(tmp_path):
    with pytest.raises(TypeError, match="cannot store a object"):
        save_checkpoint({"x": object()}, tmp_path / "c.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_the_header_gives_plain_values_without_the_tensors(tmp_path):
    _, _, state = trained_state()
    save_checkpoint(state, tmp_path / "c.safetensors")
    header = checkpoint_header(tmp_path / "c.safetensors")
    assert header["rows"][0]["epoch"] == 1 and header["rows"][0]["f1"] == 0.25
    assert set(header["model"]["0.weight"]) == {"__tensor__"}  # a reference, not the tensor
    save_file({"x": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))  # safetensors, not ours
    with pytest.raises(ValueError, match="without a 'mtaal_state' header entry"):
        checkpoint_header(tmp_path / "plain.safetensors")
