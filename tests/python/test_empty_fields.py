"""Issue 15, point 4, empty means empty: `unet segment IN -o OUT` with the built-in model finds
at most 2 objects in each of 20 512^2 fields with no nuclei of every background kind
(`unet sample --nuclei 0 --background KIND`; tools/empty_fields.py does the counting).

Not yet listed in tests/meson.build: today's built-in model (trained on the classic scene)
fails it by far (2026-12-06: mean 103 to 245 objects per field by kind, 99 of 100 fields
over 2). List it (py_tests and cli_py_tests) with the model that tools/make_default_model.py
--recipe wide trains, once that model is the built-in one."""

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
