"""The :class:`Task` protocol shared by every registered task."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mobile_kit.specs import OutputSpec


class Task:
    """What a model predicts and everything that depends on it.

    Attributes
    ----------
    name : str
        Registry name, stored in metadata (``task.name``).
    labels : tuple of str
        Class names in channel order.
    heads : tuple of str
        Output heads an export may use (``softmax``, ``sigmoid``, ``logits``).
    target_dirs : tuple of str
        Dataset sub-folders holding the ground truth, first found wins.
    flip_pairs : tuple of (int, int)
        Classes a horizontal flip swaps (left/right); used by augmentation and flip TTA.
    primary_metric : str
        Validation figure (history key) that picks the best epoch.
    effects : tuple of str
        ``predict --effect`` choices.
    help : str
        What the task's ground truth is, for the CLI's ``--task`` help.
    builtin, builtin_help : str or None, str
        Folder under ``mobile_kit/assets/`` of the task's packaged model (``builtin:<name>``; None: none ships)
        and what that model is.
    headline_metric, headline_label : str
        Key of the figure reports lead with in the task's eval summary / validation figures, and its readable name.
    result_type : type or None
        What :meth:`evaluate` returns (``to_dict()``, ``summary()``, ``table()``, ``headline``).
    source_label_maps : dict
        Training-recipe source kind (``--data KIND:PATH``) -> shipped label map that reads that source as this
        task's targets (``mobile_kit/tasks/label_maps/<name>.json``).
    """

    name = "task"
    labels: tuple[str, ...] = ()
    heads: tuple[str, ...] = ("softmax", "logits")
    target_dirs: tuple[str, ...] = ("masks",)
    flip_pairs: tuple[tuple[int, int], ...] = ()
    primary_metric = "val_score"
    effects: tuple[str, ...] = ()
    description = "segmentation"
    help = "segmentation masks"
    builtin: str | None = None
    builtin_help = ""
    headline_metric = "miou"
    headline_label = "mIoU"
    source_label_maps: dict[str, str] = {}
    result_type: type | None = None

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def multi_class(self) -> bool:
        """True when outputs decode to class maps (more than two classes), False for binary foreground tasks."""
        return self.num_classes > 2

    # --- contract -------------------------------------------------------------------------------------------
    def output_spec(self) -> OutputSpec:
        """The softmax output contract of a freshly trained model."""
        return OutputSpec(kind="softmax", labels=self.labels, foreground_index=self.num_classes - 1, threshold=0.5)

    def config(self) -> dict:
        """What metadata stores as ``task`` (schema v2)."""
        return {"name": self.name, "flip_pairs": [list(p) for p in self.flip_pairs]}

    def label_map(self) -> dict | None:
        """Source class name -> model class index (metadata ``output.label_map``), or None."""
        return None

    # --- data -----------------------------------------------------------------------------------------------
    def load_target(self, path: Path, hw: tuple[int, int] | None = None, check_complete: bool = True) -> np.ndarray:
        """Ground truth as class ids ``(H, W)`` uint8 in ``0..num_classes-1``."""
        raise NotImplementedError

    def flip_lut(self) -> np.ndarray | None:
        """Class permutation applied to a flipped target, or None when no class is left/right-aware."""
        if not self.flip_pairs:
            return None
        from mobile_kit.tasks.label_map import swap_lut

        return swap_lut(self.num_classes, self.flip_pairs)

    # --- training -------------------------------------------------------------------------------------------
    def loss(self, name: str):
        """The loss ``f(y_true (B,H,W,1) class ids, y_pred (B,H,W,C) softmax)`` registered as ``name``."""
        from mobile_kit.losses import get_loss

        return get_loss(name, dice_channels=self.dice_channels())

    def dice_channels(self):
        """Channels the soft-Dice term averages over (None = all)."""
        return None

    def val_score(self, probs: np.ndarray, y: np.ndarray) -> float:
        """:attr:`primary_metric` of a validation batch at model resolution."""
        raise NotImplementedError

    # --- inference ------------------------------------------------------------------------------------------
    def decode(self, probs: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        """Class map ``(H, W)`` uint8 from class probabilities ``(H, W, C)``."""
        return np.argmax(probs, axis=-1).astype(np.uint8)

    def foreground(self, probs: np.ndarray) -> np.ndarray:
        """Foreground probability ``(H, W)`` from class probabilities ``(H, W, C)``: ``1 - p(class 0)``
        (class 0 = background), what single-mask consumers (portrait effects, video, teachers) use."""
        return 1.0 - probs[..., 0]

    def foreground_probability(self, output: np.ndarray, out_spec: OutputSpec, input_hw) -> np.ndarray:
        """Foreground probability ``(h, w)`` float32 from one raw model output (see :meth:`foreground`)."""
        from mobile_kit.preprocess import class_probabilities

        return self.foreground(class_probabilities(output, out_spec, input_hw)).astype(np.float32)

    def evaluate(self, segmenter, pairs, threshold=None, progress=None, **options):
        raise NotImplementedError

    @classmethod
    def from_metadata(cls, metadata) -> "Task":
        raise NotImplementedError
