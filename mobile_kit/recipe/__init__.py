"""The training recipe: several datasets with weights, negatives, copy-paste, distillation, boundary loss.

Every feature is off by default, so ``train`` without recipe flags behaves as
before. :class:`RecipeConfig` is what the ``train`` flags fill in and what
``metadata.json`` records under ``training.recipe``.

=====================  ==================  ===========================================================
flag                   default             effect
=====================  ==================  ===========================================================
``--data`` (repeat)    one folder          ``[KIND:]PATH``; KIND ``masks`` or ``ccp``; the first is the
                                           primary set whose val split selects the best epoch
``--data-weight``      1 per source        sampling weight of each ``--data`` (same order)
``--teacher``          none                model giving soft targets (run through our runtime)
``--distill-weight``   0.5 with teacher    ``a`` in ``(1 - a) * GT + a * KD``
``--unlabelled``       none                folder of photos trained on teacher labels only
``--unlabelled-weight`` 1.0                sampling weight of the unlabelled photos
``--negatives``        0.0                 fraction of each epoch that is foreground-free crops
``--copy-paste``       0.0                 probability of pasting a labelled foreground on a background
``--boundary-weight``  0.0                 weight of the CE over the Canny band around mask edges
``--boundary-width``   3                   half-width of that band in model pixels
``--epoch-size``       all train samples   samples drawn per epoch
=====================  ==================  ===========================================================
"""
from __future__ import annotations

from dataclasses import dataclass, field

from mobile_kit.recipe.sources import SourceSpec, parse_source
from mobile_kit.recipe.teacher import TeacherSpec


@dataclass
class RecipeConfig:
    """Recipe switches (see the module table); ``extra_sources`` are the ``--data`` entries after the first."""

    primary_weight: float = 1.0
    extra_sources: list[SourceSpec] = field(default_factory=list)
    teacher: TeacherSpec | None = None
    distill_weight: float = 0.5
    unlabelled: str | None = None
    unlabelled_weight: float = 1.0
    negatives: float = 0.0
    copy_paste: float = 0.0
    boundary_weight: float = 0.0
    boundary_width: int = 3
    epoch_size: int | None = None

    @property
    def active(self) -> bool:
        """True when any feature departs from plain single-dataset training."""
        return bool(self.extra_sources or self.teacher or self.unlabelled or self.negatives or self.copy_paste
                    or self.boundary_weight or self.epoch_size or self.primary_weight != 1.0)

    def to_dict(self) -> dict:
        return {
            "primary_weight": self.primary_weight,
            "extra_sources": [s.to_dict() for s in self.extra_sources],
            "teacher": self.teacher.to_dict() if self.teacher else None,
            "distill_weight": self.distill_weight if self.teacher else 0.0,
            "unlabelled": self.unlabelled,
            "unlabelled_weight": self.unlabelled_weight if self.unlabelled else 0.0,
            "negatives": self.negatives,
            "copy_paste": self.copy_paste,
            "boundary_weight": self.boundary_weight,
            "boundary_width": self.boundary_width,
            "epoch_size": self.epoch_size,
        }


__all__ = ["RecipeConfig", "SourceSpec", "TeacherSpec", "parse_source"]
