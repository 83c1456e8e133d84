import numpy as np
import pytest

from poselift.data.qualisys import load_qca
from poselift.errors import PoseliftError

QCA = """<?xml version='1.0' encoding='ASCII'?>
<calibration><cameras>
<camera active="1" serial="cam01">
  <fov_video bottom="1919" left="0" right="1087" top="0"/>
  <transform r11="0.5536380477336265" r12="0.8046719867383512" r13="0.2144479094331626" r21="-0.4345300743838753"
   r22="0.05946489349975602" r23="0.8986921279821063" r31="0.7104002579937896" r32="-0.5907342212870501"
   r33="0.3825762057979294" x="1460.2323709212087" y="-1909.1590482454608" z="1896.5058524092062"/>
  <intrinsic centerPointU="34110.316406" centerPointV="60680.792969" focalLengthU="107599.671875"
   focalLengthV="107588.828125" radialDistortion1="-0.046183" radialDistortion2="0.139983" radialDistortion3="0.0"
   sensorMaxU="69568" sensorMaxV="122816" sensorMinU="0" sensorMinV="0" tangentalDistortion1="0.000608"
   tangentalDistortion2="0.00069"/>
</camera>
</cameras></calibration>
"""


def test_qca_camera_units_and_orientation(tmp_path):
    p = tmp_path / "Calib.qca.txt"
    p.write_text(QCA)
    (cam,) = load_qca(p)
    assert cam.id == "cam01" and (cam.res_w, cam.res_h) == (1088, 1920)
    assert cam.focal == pytest.approx((107599.671875 / 64, 107588.828125 / 64))
    assert cam.center == pytest.approx((34110.316406 / 64, 60680.792969 / 64))
    assert cam.radial[:2] == pytest.approx((-0.046183, 0.139983))
    R = cam.R_c2w
    assert np.allclose(R @ R.T, np.eye(3), atol=1e-9) and np.linalg.det(R) == pytest.approx(1.0)
    assert np.allclose(cam.t, (1.4602323709212087, -1.9091590482454608, 1.8965058524092062))
    # the camera sees the middle of the capture volume (the world origin, 1 m up) in front of it
    centre = cam.world_to_camera(np.array([0.0, 0.0, 1.0]))
    assert centre[2] > 1.0
    u, v = cam.project(centre)
    assert 0 < u < cam.res_w and 0 < v < cam.res_h


def test_qca_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.qca.txt"
    bad.write_text("<calibration><cameras><camera serial='c'><transform r11='x'/><intrinsic/></camera></cameras>"
                   "</calibration>")
    with pytest.raises(PoseliftError, match="bad.qca.txt"):
        load_qca(bad)
    junk = tmp_path / "junk.qca.txt"
    junk.write_bytes(b"\x00\x01 not xml")
    with pytest.raises(PoseliftError, match="not a Qualisys"):
        load_qca(junk)
    with pytest.raises(PoseliftError, match="not found"):
        load_qca(tmp_path / "missing.qca.txt")
