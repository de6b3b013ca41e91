"""The command libunet-napari.segment: headless, through npe2, and as a magicgui widget."""

import numpy as np
import pytest
import unet
from libunet_napari import segment


def test_segment_img2d_equals_model_segment(img2d, nuclei):
    labels = segment(img2d)
    expected = nuclei.segment(img2d)
    assert labels.dtype == np.uint32 and labels.shape == img2d.shape
    assert labels.max() > 50  # img2d has 125 nuclei
    np.testing.assert_array_equal(labels, expected)


def test_command_registered_through_the_manifest_entry_point(img2d, nuclei):
    from npe2 import PluginManager
    pm = PluginManager.instance()
    pm.discover()
    manifest = pm.get_manifest("libunet-napari")
    assert manifest.name == "libunet-napari"
    widgets = {w.display_name for w in manifest.contributions.widgets}
    assert {"U-Net", "U-Net fine-tune", "U-Net segment"} <= widgets
    labels = pm.commands.execute("libunet-napari.segment", kwargs={"image": img2d[:256, :256]})
    np.testing.assert_array_equal(labels, nuclei.segment(img2d[:256, :256]))


def test_stack_is_segmented_plane_by_plane(img2d, nuclei):
    stack = np.stack([img2d[:256, :256], img2d[256:, 256:]])
    labels = segment(stack, model="nuclei", threads=1)
    assert labels.shape == stack.shape
    for z in range(2):
        np.testing.assert_array_equal(labels[z], nuclei.segment(stack[z]))


def test_colour_by_the_channel_rule(img2d, nuclei):
    grey = (img2d[:256, :256] >> 4).astype(np.uint8)
    same = np.stack([grey] * 3, axis=-1)  # equal channels: that channel as it is
    np.testing.assert_array_equal(segment(same), nuclei.segment(grey))
    r, g, b = grey, grey // 2, grey // 3  # distinct channels: the luminance; alpha ignored
    rgba = np.stack([r, g, b, np.full_like(grey, 255)], axis=-1)
    # the rule as the library documents it: in double, rounded to float
    luma = (0.299 * r.astype(np.float64) + 0.587 * g + 0.114 * b).astype(np.float32)
    np.testing.assert_array_equal(segment(rgba), nuclei.segment(luma))
    # the same numbers as the library's rule and the binding's colour reading
    np.testing.assert_array_equal(unet.channel_rule(np.moveaxis(rgba, -1, 0), 1)[0], luma)
    np.testing.assert_array_equal(segment(rgba), nuclei.segment(rgba))


def test_model_from_a_file(tmp_path, img2d, nuclei):
    path = tmp_path / "copy.unet"
    nuclei.save(str(path))
    np.testing.assert_array_equal(segment(img2d[:128, :128], model=str(path)),
                                  nuclei.segment(img2d[:128, :128]))


def test_bad_model_names_are_errors(img2d):
    with pytest.raises((ValueError, unet.UnetError)):
        segment(img2d, model="no-such-model")


def test_as_a_magicgui_widget(make_napari_viewer, img2d, nuclei):
    viewer = make_napari_viewer()
    layer = viewer.add_image(img2d[:256, :256], scale=(0.5, 0.5))
    _, widget = viewer.window.add_plugin_dock_widget("libunet-napari", "U-Net segment")
    widget.reset_choices()
    assert widget.image.value is layer.data  # the only image layer is the choice
    widget()  # magicgui runs the function and adds its LabelsData result as a layer
    result = viewer.layers[-1]
    assert result._type_string == "labels"
    np.testing.assert_array_equal(result.data, nuclei.segment(img2d[:256, :256]))
