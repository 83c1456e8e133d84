"""Which person to follow (poselift.detect.person)."""

import numpy as np
import pytest

from poselift.detect.person import box_from_xywh, parse_person
from poselift.errors import PoseliftError


@pytest.mark.parametrize("value, want", [(0, 0), (3, 3), (np.int64(2), 2), ("4", 4), (" 1 ", 1),
                                         ("10,20,30,40", (10.0, 20.0, 30.0, 40.0)),
                                         ("10 20 30 40", (10.0, 20.0, 30.0, 40.0)),
                                         ([1, 2, 3.5, 4], (1.0, 2.0, 3.5, 4.0)), ("2.5", (2.5,))])
def test_parse_person(value, want):
    if want == (2.5,):  # one number that is not whole: not a person
        with pytest.raises(PoseliftError):
            parse_person(value)
        return
    got = parse_person(value)
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize("value, match", [(-1, ">= 0"), (True, "whole number"), ("x", "an id"),
                                          ((1, 2, 0, 4), "w, h > 0"), ((1, 2, 3), "whole number"),
                                          ((1, 2, np.inf, 4), "finite"), ("1,2,3,nan", "finite"),
                                          (1.0, "whole number")])
def test_parse_person_refuses(value, match):
    with pytest.raises(PoseliftError, match=match):
        parse_person(value)


def test_box_from_xywh():
    np.testing.assert_array_equal(box_from_xywh((10, 20, 30, 40)), [10, 20, 40, 60])
    assert box_from_xywh((1, 2, 3, 4)).dtype == np.float64
