"""Issue 15, point 6: `unet segment IN -o OUT` with the built-in model and no other flag, on
real nuclei images no development step ever used (../shared/data/nuclei-val, 29 images numbered
by nucleus size, 10-58 px across; nuclei2d; the hoechst image of large nuclei). One setting for
every image, measured by tools/eval_nuclei_val.py (the report tool for the ablation table).

Targets: mean instance F1 at IoU 0.5 >= 0.88 over nuclei-val with no image below 0.75;
>= 0.90 on nuclei2d; on hoechst/nuclear.png an object count within 15% of 59, the count whose
outlines are right by eye (issue 15: the 1.0 model at --scale 0.3).

Not yet listed in tests/meson.build: no built-in model meets it. 2026-12-06, automatic scale:
today's built-in model mean 0.844 over nuclei-val (7 images below 0.75, worst 0.580),
nuclei2d 0.893; the first wide-recipe 3-class model (tools/make_default_model.py --recipe wide,
5500 steps) 0.822 (7 below 0.75, worst 0.374), nuclei2d 0.765; later the same day the classic
recipe trained 18x longer 0.845 (8 below, worst 0.655), nuclei2d 0.921, and the mixed recipe
(3-class) 0.838 (6 below, worst 0.580), nuclei2d 0.873 (models/*.log). 2026-12-07: the
built-in model became the classic-empty recipe's, 0.8645 (3 below 0.75, worst 0.630), nuclei2d
0.922, hoechst 59: nuclei2d and hoechst pass, the nuclei-val mean and worst image do not.
2026-12-08: the built-in model is the classic-empty-distance recipe's (foreground + distance
to the edge), 0.8767 (2 below 0.75: 15 at 0.704, dense overlapping nuclei merged; 22 at 0.679,
whose misses are ground-truth fragments of 22-86 px in a debris clump, specks and border
slivers, not merges), nuclei2d 0.929, hoechst 58: the same two targets still fail.
List it (py_tests and cli_py_tests) with the model that passes."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import eval_nuclei_val  # noqa: E402

CLI = os.environ.get("UNET_CLI")
HOECHST_BY_EYE = 59


@pytest.mark.skipif(not CLI, reason="the unet program is not built")
def test_nuclei_val_and_nuclei2d(data_dir, tmp_path):
    settings = [("default", [])]
    rows = eval_nuclei_val.evaluate(CLI, data_dir, settings, 2, str(tmp_path))
    s = eval_nuclei_val.summary(rows, settings)["default"]
    per_image = {r["image"]: round(r["default"]["f1"], 3) for r in rows}
    assert s["mean_f1"] >= 0.88, (s, per_image)
    assert s["below_0.75"] == 0, (s, per_image)
    assert s["nuclei2d_f1"] >= 0.90, (s, per_image)


@pytest.mark.skipif(not CLI, reason="the unet program is not built")
def test_hoechst_count(data_dir, tmp_path):
    counts = eval_nuclei_val.hoechst(CLI, data_dir, [("default", [])], 2, str(tmp_path), None)
    n = counts["default"]["objects"]
    assert abs(n - HOECHST_BY_EYE) <= 0.15 * HOECHST_BY_EYE, counts
