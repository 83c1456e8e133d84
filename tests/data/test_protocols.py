"""Which subjects train and test on each dataset (poselift.data.protocols)."""

import pytest

from poselift.data import h36m, humaneva, mpi3dhp, protocols
from poselift.data.protocols import DATASETS, pick_subjects, protocol, split_list
from poselift.errors import PoseliftError


def test_every_dataset_has_its_protocol():
    assert DATASETS == ("cmu", "h36m", "humaneva", "3dhp")
    for name in DATASETS:
        p = protocol(name)
        assert p.name == name and p.test and not set(p.train) & set(p.test)
    with pytest.raises(PoseliftError, match=r"unknown dataset 'h36' \(known: cmu, h36m, humaneva, 3dhp\)"):
        protocol("h36")


def test_protocol_subjects():
    assert protocol("h36m").train == ("S1", "S5", "S6", "S7", "S8") == h36m.TRAIN_SUBJECTS
    assert protocol("h36m").test == ("S9", "S11") and protocol("h36m").actions_test == ()
    he = protocol("humaneva")
    assert he.train == humaneva.TRAIN_SUBJECTS and he.test == ("Validate/S1", "Validate/S2", "Validate/S3")
    assert he.actions_test == ("Walk", "Jog", "Box")
    assert protocol("cmu").train == () and protocol("cmu").test == ("02", "05", "09", "16")
    tdhp = protocol("3dhp")
    assert tdhp.train == () and tdhp.test == mpi3dhp.SEQUENCES and tdhp.extra_metrics == ("pck", "auc")
    assert all(protocol(n).extra_metrics == () for n in ("cmu", "h36m", "humaneva"))


@pytest.mark.parametrize("text, want", [("S1,S5 , S6", ["S1", "S5", "S6"]), ("", []), (None, []),
                                        (" , ,", []), ("Walk", ["Walk"]), ("a,,b,", ["a", "b"])])
def test_split_list(text, want):
    assert split_list(text) == want


def test_pick_subjects(monkeypatch, tmp_path):
    assert pick_subjects(["S2"], ("S9", "S11"), None, "test") == ["S2"]  # as given, even outside the protocol

    class Info:
        subjects = ["S11", "S1", "S9"]

    from poselift.data import prepared

    monkeypatch.setattr(prepared, "prepared_info", lambda path: Info)
    # the protocol's subjects that the file holds, in the protocol's order
    assert pick_subjects(None, ("S9", "S10", "S11"), tmp_path / "x.npz", "test") == ["S9", "S11"]
    with pytest.raises(PoseliftError, match=r"holds none of the protocol's train subjects \(S5, S6\); give --subjects"):
        pick_subjects([], ("S5", "S6"), tmp_path / "x.npz", "train")
    assert protocols.Protocol("x", (), ()).extra_metrics == ()
