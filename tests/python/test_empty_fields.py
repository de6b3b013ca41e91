"""Issue 15, point 4, empty means empty: `unet segment IN -o OUT` with the built-in model finds
at most 2 objects in each of 20 512^2 fields with no nuclei of every background kind
(`unet sample --nuclei 0 --background KIND`; tools/empty_fields.py does the counting).

Not yet listed in tests/meson.build: no built-in model passes it. The classic-recipe model
(built in until 2026-12-06) failed it by far (8 fields per kind: 361, 59, 88, 1695 and 1145
objects on average for flat, ramp, haze, debris and noise); today's (classic-empty recipe,
trained with fields of no nuclei) gives 0 on flat and ramp fields but still finds objects in
1 haze, 2 debris and 2 noise fields of 8 (81, 124-154, 150-1357 objects). 2026-12-08, the
classic-empty-distance model, 20 fields per kind: flat and ramp 0 objects, but 8 haze, 11
debris and 3 noise fields over 2 (means 37.1, 30.0 and 47.8 objects; worst 249, 233, 926); the
haze fields fail at --scale 1 too (the model, not the automatic scale). List it (py_tests and
cli_py_tests) with the built-in model that passes."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import empty_fields  # noqa: E402

CLI = os.environ.get("UNET_CLI")
MOST = 2  # objects per 512^2 field


@pytest.mark.skipif(not CLI, reason="the unet program is not built")
def test_empty_fields_give_no_objects(tmp_path):
    counts = empty_fields.count_objects(CLI, empty_fields.KINDS, images=20, size=512,
                                        threads=2, folder=str(tmp_path))
    over = {kind: [n for n in c if n > MOST] for kind, c in counts.items()}
    assert not any(over.values()), "fields with more than %d objects: %s" % (MOST, over)
