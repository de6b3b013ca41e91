"""libunet in napari: the "U-Net" dock widget (run a model, click to segment), the "U-Net
fine-tune" widget, the command libunet-napari.segment and a sample image. The manifest is
napari.yaml (npe2), found through the `napari.manifest` entry point."""

from ._segment import segment

__all__ = ["segment"]
