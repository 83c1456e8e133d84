import numpy as np
import pytest
import torch

from poselift.cli import main
from poselift.data.windows import pad_sequence_torch
from poselift.evaluate import load_model
from poselift.infer import default_checkpoint

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


def test_onnx_export_matches_torch_for_any_length(tmp_path):
    out = tmp_path / "lifter.onnx"
    assert main(["export", "--onnx", str(out)]) == 0
    model, _ = load_model(default_checkpoint())
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for n, t in ((1, model.receptive_field), (2, 100), (1, 1000)):
        x = rng.uniform(-0.6, 0.6, size=(n, t, 17, 2)).astype(np.float32)
        got = session.run(["pose"], {"keypoints": x})[0]
        with torch.no_grad():
            want = model(torch.from_numpy(x)).numpy()
        assert got.shape == want.shape == (n, t - model.receptive_field + 1, 17, 3)
        np.testing.assert_allclose(got, want, atol=1e-4)
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["receptive_field"] == "27" and meta["pad_left"] == meta["pad_right"] == "13"
    assert meta["skeleton_in"] == "coco17"
    # padding as the metadata says gives one output per input frame, as poselift's own inference
    seq = rng.uniform(-0.5, 0.5, size=(5, 17, 2)).astype(np.float32)
    padded = np.concatenate([np.repeat(seq[:1], 13, 0), seq, np.repeat(seq[-1:], 13, 0)])[None]
    np.testing.assert_allclose(session.run(["pose"], {"keypoints": padded})[0][0],
                               model(pad_sequence_torch(torch.from_numpy(seq), 27, 0, dim=0)[None])[0].detach().numpy(),
                               atol=1e-4)


def test_onnx_export_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "lifter.onnx"
    out.write_text("mine")
    assert main(["export", "--onnx", str(out)]) == 2
    assert "exists already" in capsys.readouterr().err and out.read_text() == "mine"
    assert main(["export", "--onnx", str(out), "--checkpoint", str(tmp_path / "nope.safetensors")]) == 2
