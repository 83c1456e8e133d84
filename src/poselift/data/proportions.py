"""Body-proportion augmentation: the same motion on bodies of other sizes and proportions.

A lifter trained on a few motion-capture subjects learns their bones: on a real person it
draws the training subjects' average limbs, whatever the 2D says. Here every training view
gets its own body: each segment (thigh, shin, upper arm, forearm, hip and shoulder width,
trunk, neck, head) is scaled by its own factor, the same on the left and the right and for
the whole sequence, and the motion is rebuilt joint by joint from the root (each bone keeps
its direction and gets its new length), so bones stay rigid within a sequence and vary
across sequences. The root path is scaled by the overall size, so a smaller body also takes
shorter steps.

Where the numbers come from (none is fitted to a benchmark clip):

* overall size: the body is scaled to a standing height drawn from the world's adults, women
  and men together: normal with mean 1.65 m and sd 0.09 m (NCD Risk Factor Collaboration,
  eLife 2016: mean adult heights about 1.71 m for men and 1.59 m for women; the sd is the
  within-sex spread of about 0.07 m widened by the difference between the sexes), clipped
  to [1.45, 1.95] m. A clip's own height is :func:`~poselift.bones.standing_height` of its
  bones (the CMU-17 training subjects: 1.54–1.78 m, mean 1.69 m).
* ``segment_sd`` 0.05: segment lengths vary about 5 % relative to stature between adults
  (anthropometric tables, e.g. Winter, *Biomechanics and Motor Control of Human Movement*,
  4th ed., Table 4.1, and the coefficients of variation of the ANSUR surveys).
* ``forearm``: the CMU-17 wrist sits at the end of the radius bone of the CMU skeletons, so
  its forearm is 0.65 × the upper arm, where adult anthropometry gives 0.78 (Winter: forearm
  0.146 H, upper arm 0.186 H) and 2D detectors mark the wrist crease further out still. The
  forearm gets an extra factor uniform in [1.0, 1.35], from the data's own ratio to 0.88.
* ``child_fraction`` 0.1 of the bodies are children: height uniform in [1.10, 1.45] m, head and neck 1.15 × and legs 0.94 × relative to the trunk (children's
  heads are larger and legs shorter relative to stature; rounded from growth-chart ratios,
  approximate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bones import rebuild, sequence_lengths, standing_height
from ..errors import PoseliftError
from ..skeleton import H36M17, Skeleton

# segment group of each Human3.6M-17 joint's bone (the bone from its parent to it)
H36M17_SEGMENTS = {
    1: "hip", 4: "hip", 2: "thigh", 5: "thigh", 3: "shin", 6: "shin", 7: "trunk", 8: "trunk",
    9: "neck", 10: "head", 11: "shoulder", 14: "shoulder", 12: "upper_arm", 15: "upper_arm",
    13: "forearm", 16: "forearm",
}
SEGMENTS = ("hip", "thigh", "shin", "trunk", "neck", "head", "shoulder", "upper_arm", "forearm")


@dataclass(frozen=True)
class BodyProportions:
    """The distribution of training bodies (see the module documentation for each number)."""

    height_mean: float = 1.65
    height_sd: float = 0.09
    height_range: tuple[float, float] = (1.45, 1.95)
    segment_sd: float = 0.05
    forearm: tuple[float, float] = (1.0, 1.35)
    child_fraction: float = 0.1
    child_height: tuple[float, float] = (1.10, 1.45)
    child_head: float = 1.15
    child_legs: float = 0.94

    def sample(self, rng: np.random.Generator) -> tuple[float, dict[str, float]]:
        """(standing height in metres, {segment: factor relative to the overall scale}) of one body."""
        child = rng.random() < self.child_fraction
        if child:
            height = float(rng.uniform(*self.child_height))
        else:
            height = float(np.clip(rng.normal(self.height_mean, self.height_sd), *self.height_range))
        factors = {s: float(np.exp(rng.normal(0.0, self.segment_sd))) for s in SEGMENTS}
        factors["forearm"] *= float(rng.uniform(*self.forearm))
        if child:
            for s in ("neck", "head"):
                factors[s] *= self.child_head
            for s in ("thigh", "shin"):
                factors[s] *= self.child_legs
        return height, factors


def bone_factors(scale: float, factors: dict[str, float], skeleton: Skeleton = H36M17) -> np.ndarray:
    """Length factor of each joint's bone (J,), root 1: ``scale`` × its segment's factor."""
    if skeleton.name != H36M17.name:
        raise PoseliftError(f"body-proportion augmentation needs Human3.6M-17 joints, not {skeleton.name}")
    out = np.ones(skeleton.num_joints)
    for j, seg in H36M17_SEGMENTS.items():
        out[j] = scale * factors[seg]
    return out


def rescale_bones(positions: np.ndarray, factors: np.ndarray, parents, root_scale: float = 1.0) -> np.ndarray:
    """Motion (T, J, 3) with every bone's length multiplied by ``factors`` (J,) (entry of the
    root ignored) and the root path by ``root_scale``; bone directions unchanged."""
    P = np.asarray(positions, dtype=np.float64)
    out = rebuild(P, parents, factors)
    return out + P[:, :1] * (root_scale - 1.0)


def random_body(positions: np.ndarray, rng: np.random.Generator, spec: BodyProportions | None = None,
                skeleton: Skeleton = H36M17) -> np.ndarray:
    """World motion (T, 17, 3) of a Human3.6M-17 sequence moved onto a random body."""
    height, factors = (spec or BodyProportions()).sample(rng)
    scale = height / standing_height(sequence_lengths(positions[:: max(1, len(positions) // 200)], skeleton), skeleton)
    return rescale_bones(positions, bone_factors(scale, factors, skeleton), skeleton.parents,
                         root_scale=scale).astype(np.asarray(positions).dtype)
