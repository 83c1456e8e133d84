import json

import numpy as np
import pytest

from poselift.demo import run_demo
from poselift.errors import PoseliftError
from poselift.infer import Lifter, default_checkpoint, lift


def test_demo_writes_3d_and_plot(tmp_path):
    out = run_demo(tmp_path / "demo")
    d = np.load(out["3d"], allow_pickle=False)
    assert d["positions_3d"].shape == (773, 17, 3) and np.isfinite(d["positions_3d"]).all()
    js = json.loads(open(out["json"]).read())
    assert js["frames"] == 773 and 0 < js["mpjpe_mm"] < 100  # the bundled model on its demo clip (66 mm)
    with open(out["plot"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(PoseliftError, match="overwrite"):
        run_demo(tmp_path / "demo")
    run_demo(tmp_path / "demo", overwrite=True)


def test_lift_api_and_input_checks():
    assert default_checkpoint().exists()
    kp = np.random.default_rng(0).uniform(300, 700, size=(12, 17, 2))
    y = lift(kp, 1000, 1000)
    assert y.shape == (12, 17, 3)
    lifter = Lifter()
    with pytest.raises(PoseliftError, match="15 joints but the model takes 17"):
        lifter.lift(kp[:, :15], 1000, 1000)
    kp[3, 2, 0] = np.nan
    with pytest.raises(PoseliftError, match="NaN"):
        lifter.lift(kp, 1000, 1000)
