"""Qualisys camera calibration files (``*.qca.txt``, the XML written by Qualisys Track Manager
and used by the pose2sim sample data).

Each ``<camera>`` holds ``<transform>`` (r11..r33 and the camera position x, y, z in mm) and
``<intrinsic>`` in sensor sub-pixel units (divide by 64 for pixels: focal, principal point,
sensor size), with radial (k1..k3) and tangential (p1, p2) distortion. The image size is
taken from ``<fov_video>`` (right + 1, bottom + 1) when present.

Orientation: the transform's matrix maps camera to world for an optical frame with y up and
z backwards; this project's cameras look along +z with y down, so the world-to-camera
rotation is ``diag(1, -1, -1) · R_qca^T``... checked numerically by :func:`load_qca`'s tests
(every calibrated camera sees the calibrated volume in front of it, and triangulation of a
real recording reprojects within the detector's noise).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ..camera import Camera
from ..errors import PoseliftError

SUBPIXEL = 64.0  # Qualisys intrinsics are in 1/64 pixel

_FLIP_YZ = np.diag([1.0, -1.0, -1.0])


def load_qca(path) -> list[Camera]:
    """The cameras of a Qualisys calibration file, in file order (ids from ``serial``)."""
    path = Path(path)
    if not path.is_file():
        raise PoseliftError("calibration file not found", path)
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, UnicodeDecodeError) as e:
        raise PoseliftError(f"not a Qualisys calibration file (XML: {e})", path) from None
    cams = []
    for i, el in enumerate(root.iter("camera")):
        tr, it = el.find("transform"), el.find("intrinsic")
        if tr is None or it is None:
            raise PoseliftError(f"camera {i} has no transform or intrinsic element", path)
        try:
            R_qca = np.array([[float(tr.attrib[f"r{a}{b}"]) for b in "123"] for a in "123"])
            pos = np.array([float(tr.attrib[k]) for k in "xyz"]) / 1000.0
            f = (float(it.attrib["focalLengthU"]) / SUBPIXEL, float(it.attrib["focalLengthV"]) / SUBPIXEL)
            c = (float(it.attrib["centerPointU"]) / SUBPIXEL, float(it.attrib["centerPointV"]) / SUBPIXEL)
            k = tuple(float(it.attrib.get(f"radialDistortion{n}", 0.0)) for n in "123")
            p = tuple(float(it.attrib.get(f"tangentalDistortion{n}", 0.0)) for n in "12")
            fov = el.find("fov_video")
            if fov is not None:
                w, h = int(fov.attrib["right"]) + 1, int(fov.attrib["bottom"]) + 1
            else:
                w = round((float(it.attrib["sensorMaxU"]) - float(it.attrib.get("sensorMinU", 0))) / SUBPIXEL)
                h = round((float(it.attrib["sensorMaxV"]) - float(it.attrib.get("sensorMinV", 0))) / SUBPIXEL)
        except (KeyError, ValueError) as e:
            raise PoseliftError(f"camera {i}: missing or unreadable calibration value ({e})", path) from None
        if not (np.isfinite(R_qca).all() and np.isfinite(pos).all() and min(f) > 0 and w > 0 and h > 0):
            raise PoseliftError(f"camera {i}: calibration values out of range", path)
        R_w2c = _FLIP_YZ @ R_qca
        cams.append(Camera(id=el.attrib.get("serial", f"cam{i + 1:02d}"), res_w=w, res_h=h, focal=f, center=c,
                           radial=k, tangential=p, R_c2w=R_w2c.T, t=tuple(pos)))
    if not cams:
        raise PoseliftError("no <camera> in this calibration file", path)
    return cams
