"""Every bad number of ``bad_numbers.CASES`` gets one clear line naming the flag (or the key,
or the file), exit code 2, no traceback, and changes nothing: the assertions of
``test_bad_inputs.py``, run on these cases."""

import pytest

from bad_numbers import CASES
from test_bad_inputs import test_bad_input_gets_one_line_naming_the_file as _one_line_and_nothing_changed


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_number_gets_one_line_naming_it(case, tmp_path, capsys):
    _one_line_and_nothing_changed(case, tmp_path, capsys)
