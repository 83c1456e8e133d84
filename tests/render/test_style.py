import numpy as np
from matplotlib.colors import to_rgb

from poselift.render.style import PERSON_COLOURS, _bone_colour, _font, _rgb, _shade
from poselift.skeleton import COCO17, H36M17


def test_rgb_and_shades():
    assert _rgb("tab:red") == (214, 39, 40) and _rgb("#1f77b4") == (31, 119, 180) and _rgb("0.62") == (158, 158, 158)
    c = np.array(to_rgb("tab:green"))
    np.testing.assert_allclose(_shade("tab:green", 0.0), c)
    lighter, darker = np.array(_shade("tab:green", 0.45)), np.array(_shade("tab:green", -0.35))
    np.testing.assert_allclose(lighter, c + (1 - c) * 0.45)
    np.testing.assert_allclose(darker, c * 0.65)
    assert (lighter > c).all() and (darker < c).all()


def test_a_lone_person_is_red_left_blue_right_and_one_of_several_wears_their_colour():
    for sk in (H36M17, COCO17):
        left, right = sk.joints_left[0], sk.joints_right[0]
        centre = next(j for j in range(sk.num_joints) if j not in sk.joints_left and j not in sk.joints_right)
        assert _bone_colour(sk, left, None) == "tab:red" and _bone_colour(sk, right, None) == "tab:blue"
        assert _bone_colour(sk, centre, None) == "0.3"
        base = np.array(to_rgb("tab:orange"))
        assert (np.array(_bone_colour(sk, left, "tab:orange")) >= base).all()  # lighter on the left
        assert (np.array(_bone_colour(sk, right, "tab:orange")) <= base).all()  # darker on the right
        np.testing.assert_allclose(_bone_colour(sk, centre, "tab:orange"), base)


def test_person_colours_are_distinct_and_not_the_single_person_ones():
    rgb = [_rgb(c) for c in PERSON_COLOURS]
    assert len(set(rgb)) == len(rgb) == 10
    reserved = {_rgb(c) for c in ("tab:red", "tab:blue", "tab:gray")}
    assert not reserved & set(rgb)


def test_font_has_the_asked_size():
    small, big = _font(12), _font(30)
    assert small.getbbox("Hg")[3] < big.getbbox("Hg")[3]
