"""Which subjects train and test on each dataset, and where its files live.

``cmu`` reads the CMU-17 folders (``train/cmu_*.npz`` projected through virtual cameras,
``val/bench_*.npz``); every other dataset is one prepared file (``poselift prepare ...``,
see :mod:`poselift.data.prepared`) whose 2D source is picked with ``--keypoints``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PoseliftError


@dataclass(frozen=True)
class Protocol:
    name: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    actions_test: tuple[str, ...] = ()  # evaluation actions; empty = all
    extra_metrics: tuple[str, ...] = ()  # beyond MPJPE, P-MPJPE, N-MPJPE, MPJVE


def _protocols() -> dict[str, Protocol]:
    from . import h36m, humaneva, mpi3dhp

    return {
        "cmu": Protocol("cmu", (), ("02", "05", "09", "16")),
        "h36m": Protocol("h36m", h36m.TRAIN_SUBJECTS, h36m.TEST_SUBJECTS),
        "humaneva": Protocol("humaneva", humaneva.TRAIN_SUBJECTS, humaneva.TEST_SUBJECTS, humaneva.ACTIONS),
        # the 3DHP test set only: for evaluating models trained elsewhere
        "3dhp": Protocol("3dhp", (), mpi3dhp.SEQUENCES, extra_metrics=("pck", "auc")),
    }


DATASETS = ("cmu", "h36m", "humaneva", "3dhp")


def protocol(name: str) -> Protocol:
    if name not in DATASETS:
        raise PoseliftError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)})")
    return _protocols()[name]


def split_list(text: str | None) -> list[str]:
    """'S1,S5 , S6' → ['S1', 'S5', 'S6']; empty → []."""
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def pick_subjects(requested: list[str] | None, default: tuple[str, ...], path, role: str) -> list[str]:
    """``requested`` as given, else the protocol's ``default`` subjects that the prepared file holds."""
    if requested:
        return list(requested)
    from .prepared import prepared_info

    have = prepared_info(path).subjects
    picked = [s for s in default if s in have]
    if not picked:
        raise PoseliftError(f"holds none of the protocol's {role} subjects ({', '.join(default) or 'none'}); "
                            "give --subjects", path)
    return picked
