"""Architecture registry: the CLI's ``--arch`` choices come from here."""
from __future__ import annotations

from typing import Callable

from mobile_kit.errors import MobileKitError, lookup
from mobile_kit.specs import InputSpec

#: name -> builder(input_spec, num_classes, **options) -> tf_keras.Model
ARCHITECTURES: dict[str, Callable] = {}


def register_arch(name: str, multiple_of: int = 32):
    """Register a model builder under ``name``; the input H and W must be multiples of ``multiple_of``."""

    def deco(fn):
        fn.multiple_of = multiple_of
        ARCHITECTURES[name] = fn
        return fn

    return deco


def build_model(name: str, input_spec: InputSpec, num_classes: int | None = None, **options):
    """Build a registered architecture.

    Parameters
    ----------
    name : str
        A key of :data:`ARCHITECTURES` (``likeunet``, ``mbv2_lraspp``, ``unet``).
    input_spec : InputSpec
        Input size and channels; height and width must be multiples of the
        architecture's total stride (32).
    num_classes : int, optional
        Output channels of the softmax head (default: the default task's class count,
        :func:`mobile_kit.tasks.default_num_classes`).

    Returns
    -------
    tf_keras.Model
        Input ``(None, H, W, C)`` float32, output ``(None, H, W, num_classes)``
        softmax probabilities (NHWC).

    Raises
    ------
    UnknownNameError
        For an unregistered ``name`` (the message lists the valid ones).
    MobileKitError
        If the input size is not a multiple of the total stride.
    """
    fn = lookup(ARCHITECTURES, "architecture", name)
    m = fn.multiple_of
    if input_spec.height % m or input_spec.width % m or input_spec.height <= 0 or input_spec.width <= 0:
        raise MobileKitError(
            f"--input-size: architecture {name!r} needs height and width that are positive multiples of {m}, "
            f"found {input_spec.height}x{input_spec.width}"
        )
    if num_classes is None:
        from mobile_kit.tasks import default_num_classes

        num_classes = default_num_classes()
    return fn(input_spec, num_classes, **options)
