"""Structural re-parameterisation: ACNet blocks, BatchNorm folding, head swap."""
from mobile_kit.reparam.acnet import ACBlock, DepthwiseACBlock, embed_kernel
from mobile_kit.reparam.fold import FoldReport, fold_model

__all__ = ["ACBlock", "DepthwiseACBlock", "embed_kernel", "FoldReport", "fold_model"]
