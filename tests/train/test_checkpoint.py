import json
import os

import pytest
import torch
from safetensors.torch import load_file, save_file

from poselift.errors import PoseliftError
from poselift.models.temporal import ModelConfig, TemporalModel, TemporalModelStrided
from poselift.train.checkpoint import FORMAT, load_checkpoint, read_meta, save_checkpoint

CFG = ModelConfig(filter_widths=[3, 3], channels=16)


@pytest.fixture(scope="module", autouse=True)
def _warm_up_optimizer():
    # the first optimiser built in a process imports torch._dynamo (about a second);
    # pay that once here rather than inside whichever test happens to run first
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def make_model(seed, cfg=CFG):
    torch.manual_seed(seed)
    model = TemporalModel(cfg)
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():  # non-trivial BN statistics, so buffers are checked too
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return model


def make_optimizer(model):
    return torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)


def train_step(model, optimizer, x):
    optimizer.zero_grad()
    model(x).pow(2).mean().backward()
    optimizer.step()


def clip(seed=0, frames=9):
    return torch.randn(2, frames, 17, 2, generator=torch.Generator().manual_seed(seed))


def assert_same_state(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert torch.equal(a[k], b[k]), k


def temp_files(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_round_trip_with_amsgrad_optimizer_and_rng(tmp_path):
    model = make_model(0)
    opt = make_optimizer(model)
    model.train()
    train_step(model, opt, clip(0))
    path = tmp_path / "last.safetensors"
    meta = {"model": CFG.to_dict(), "epoch": 1, "losses": [0.5]}

    torch.manual_seed(1234)
    rng_at_save = torch.get_rng_state()
    save_checkpoint(path, model, meta, optimizer=opt)
    expected_draw = torch.rand(5)  # what the restored generator must produce next
    torch.rand(100)  # move the generator on

    model2 = make_model(1)
    opt2 = make_optimizer(model2)
    assert not torch.equal(model2.expand_conv.weight, model.expand_conv.weight)
    got = load_checkpoint(path, model2, opt2)

    assert got["epoch"] == 1 and got["losses"] == [0.5] and got["model"] == CFG.to_dict()
    assert got["format"] == FORMAT
    assert_same_state(model.state_dict(), model2.state_dict())

    # optimizer: every state tensor (exp_avg, exp_avg_sq, max_exp_avg_sq, step) restored
    sd1, sd2 = opt.state_dict(), opt2.state_dict()
    assert sd1["state"].keys() == sd2["state"].keys() and len(sd1["state"]) == len(list(model.parameters()))
    for pid in sd1["state"]:
        s1, s2 = sd1["state"][pid], sd2["state"][pid]
        assert set(s1) == set(s2) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
        for k in s1:
            assert torch.equal(torch.as_tensor(s1[k]), torch.as_tensor(s2[k])), (pid, k)
    g1, g2 = sd1["param_groups"][0], sd2["param_groups"][0]
    assert g2["amsgrad"] is True and g2["lr"] == g1["lr"] and tuple(g2["betas"]) == tuple(g1["betas"])
    assert g2["params"] == g1["params"]

    # torch RNG restored to its state at save time
    assert torch.equal(torch.get_rng_state(), rng_at_save)
    assert torch.equal(torch.rand(5), expected_draw)

    # training continues identically: one more step on both gives the same weights
    model.eval()
    model2.eval()
    train_step(model, opt, clip(1))
    train_step(model2, opt2, clip(1))
    for (k, a), (_, b) in zip(model.named_parameters(), model2.named_parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=k)
    assert temp_files(tmp_path) == []


def test_sidecar_json_without_optimizer(tmp_path):
    model = make_model(0)
    opt = make_optimizer(model)
    train_step(model, opt, clip(0))
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model, {"model": CFG.to_dict(), "epoch": 7}, optimizer=opt)
    side_path = tmp_path / "ckpt.json"
    assert side_path.exists()
    side = json.loads(side_path.read_text())
    assert "optimizer" not in side
    assert side == {"model": CFG.to_dict(), "epoch": 7, "format": FORMAT}
    # the checkpoint itself does carry the optimiser state
    assert "optimizer" in read_meta(path)
    assert sorted(os.listdir(tmp_path)) == ["ckpt.json", "ckpt.safetensors"]


def test_weights_only_checkpoint(tmp_path):
    model = make_model(0)
    path = tmp_path / "model.safetensors"
    save_checkpoint(path, model, {"model": CFG.to_dict()})
    tensors = load_file(str(path))
    assert all(k.startswith("model.") for k in tensors)  # no optimiser, no RNG state
    assert "optimizer" not in read_meta(path)
    model2 = make_model(5)
    load_checkpoint(path, model2)
    assert_same_state(model.state_dict(), model2.state_dict())
    with pytest.raises(PoseliftError, match="optimi") as ei:
        load_checkpoint(path, make_model(6), make_optimizer(make_model(6)))
    assert ei.value.path == str(path)
    # meta only, no model
    assert load_checkpoint(path)["model"] == CFG.to_dict()


def test_overwrite_existing_checkpoint(tmp_path):
    path = tmp_path / "last.safetensors"
    save_checkpoint(path, make_model(0), {"model": CFG.to_dict(), "epoch": 1})
    model = make_model(1)
    save_checkpoint(path, model, {"model": CFG.to_dict(), "epoch": 2})
    model2 = make_model(2)
    assert load_checkpoint(path, model2)["epoch"] == 2
    assert_same_state(model.state_dict(), model2.state_dict())
    assert json.loads((tmp_path / "last.json").read_text())["epoch"] == 2
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize(
    "other",
    [ModelConfig(filter_widths=[3, 3, 3], channels=16), ModelConfig(filter_widths=[3, 3], channels=32),
     ModelConfig(filter_widths=[3, 3], channels=16, joints_out=15)],
    ids=["deeper", "wider", "joints"],
)
def test_other_architecture_refused(tmp_path, other):
    path = tmp_path / "model.safetensors"
    save_checkpoint(path, make_model(0), {"model": CFG.to_dict()})
    target = TemporalModel(other)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(PoseliftError) as ei:
        load_checkpoint(path, target)
    msg = str(ei.value)
    assert "architecture [3, 3]" in msg and "channels 16" in msg and "17->17" in msg
    assert ei.value.path == str(path)
    assert_same_state(before, target.state_dict())  # nothing half-loaded


def test_strided_twin_loads_same_checkpoint(tmp_path):
    model = make_model(0).eval()
    path = tmp_path / "model.safetensors"
    save_checkpoint(path, model, {"model": CFG.to_dict()})
    twin = TemporalModelStrided(CFG).eval()
    load_checkpoint(path, twin)
    x = clip(3, frames=model.receptive_field)
    with torch.no_grad():
        torch.testing.assert_close(twin(x), model(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "content", [b"", b"not a checkpoint at all", os.urandom(64), b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage"],
    ids=["empty", "text", "random", "bad-header"],
)
def test_non_safetensors_file_refused(tmp_path, content):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(content)
    with pytest.raises(PoseliftError) as ei:
        load_checkpoint(path, make_model(0))
    assert ei.value.path == str(path)
    with pytest.raises(PoseliftError):
        read_meta(path)


def test_missing_and_foreign_safetensors_refused(tmp_path):
    with pytest.raises(PoseliftError, match="not found"):
        load_checkpoint(tmp_path / "none.safetensors", make_model(0))
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, str(foreign))
    with pytest.raises(PoseliftError, match="poselift") as ei:
        load_checkpoint(foreign, make_model(0))
    assert ei.value.path == str(foreign)
    wrong = tmp_path / "wrong_format.safetensors"
    save_file({"w": torch.zeros(3)}, str(wrong), metadata={"poselift": json.dumps({"format": "v0"})})
    with pytest.raises(PoseliftError, match="format"):
        load_checkpoint(wrong, make_model(0))
    bad_json = tmp_path / "bad_json.safetensors"
    save_file({"w": torch.zeros(3)}, str(bad_json), metadata={"poselift": "{oops"})
    with pytest.raises(PoseliftError, match="JSON"):
        read_meta(bad_json)


def test_half_precision_checkpoint(tmp_path):
    model = make_model(0).eval()
    full = tmp_path / "full.safetensors"
    half = tmp_path / "half.safetensors"
    save_checkpoint(full, model, {"model": CFG.to_dict()})
    save_checkpoint(half, model, {"model": CFG.to_dict()}, half=True)
    tensors = load_file(str(half))
    for k, v in tensors.items():
        ref = model.state_dict()[k[len("model."):]]
        if ref.is_floating_point():
            assert v.dtype == torch.float16, k
        else:
            assert v.dtype == ref.dtype, k  # e.g. BN num_batches_tracked stays int64
    assert half.stat().st_size < 0.6 * full.stat().st_size

    model2 = make_model(1).eval()
    load_checkpoint(half, model2)
    sd1, sd2 = model.state_dict(), model2.state_dict()
    for k in sd1:
        assert sd2[k].dtype == sd1[k].dtype, k  # loaded back into fp32
        torch.testing.assert_close(sd2[k], sd1[k], rtol=1e-3, atol=1e-4, msg=k)
    assert any(not torch.equal(sd1[k], sd2[k]) for k in sd1)  # really rounded to fp16
    x = clip(4)
    with torch.no_grad():
        torch.testing.assert_close(model2(x), model(x), rtol=1e-2, atol=1e-3)


def test_checkpoint_gets_the_usual_file_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        save_checkpoint(tmp_path / "m.safetensors", torch.nn.Linear(2, 2), {})
    finally:
        os.umask(umask)
    assert (tmp_path / "m.safetensors").stat().st_mode & 0o777 == 0o644
