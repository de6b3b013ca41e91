"""The model picker shared by the U-Net and fine-tune widgets: a built-in model by name, or a
.unet file."""

from magicgui.widgets import ComboBox, FileEdit

from . import _models

FILE = "a .unet file"


class ModelChoice:
    """Two magicgui widgets (`widgets`): the choice, and a file field shown for FILE."""

    def __init__(self, label="model"):
        names = _models.builtin_names()
        self.combo = ComboBox(label=label, choices=names + [FILE],
                              value=names[0] if names else FILE,
                              tooltip="a model built into libunet, or a .unet file")
        self.file = FileEdit(label="model file", mode="r", filter="*.unet",
                             visible=self.combo.value == FILE)
        self.combo.changed.connect(lambda value: setattr(self.file, "visible", value == FILE))
        self.widgets = [self.combo, self.file]

    @property
    def spec(self):
        """A built-in name or a .unet path (ValueError when the file is not chosen)."""
        if self.combo.value != FILE:
            return self.combo.value
        path = self.file.value
        if not path or not str(path).strip() or str(path) == ".":
            raise ValueError("choose a .unet file for the model")
        return str(path)

    def set(self, spec):
        """Select a built-in name, or FILE with `spec` as the path."""
        if spec in self.combo.choices and spec != FILE:
            self.combo.value = spec
        else:
            self.combo.value = FILE
            self.file.value = spec
