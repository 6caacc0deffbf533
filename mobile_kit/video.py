"""Segment a video file: portrait effects frame by frame with temporal smoothing, FPS and flicker figures.

The smoothing is the apps' (:mod:`mobile_kit.effects.temporal`, an exponential moving average of p(foreground)
with ``EMA_ALPHA``). Flicker is the mean over consecutive frame pairs of the fraction of pixels whose mask
changes, ``mean_t mean_xy |m_t - m_{t-1}|`` with ``m = p > threshold``, reported for the raw and the smoothed
probabilities of the same run.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from mobile_kit.effects.portrait import EFFECTS, apply_effect
from mobile_kit.effects.temporal import EMA_ALPHA, ProbabilityEMA
from mobile_kit.errors import DatasetError, MobileKitError, UnknownNameError
from mobile_kit.fileio import atomic_path
from mobile_kit.progress import NullProgress, Progress

#: Containers OpenCV reads and writes here (FFmpeg backend of opencv-python-headless); written as MPEG-4 Part 2.
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv")
FOURCC = "mp4v"


def is_video(path: str | Path) -> bool:
    """True if ``path`` has a video suffix (:data:`VIDEO_SUFFIXES`)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass
class VideoResult:
    """What :func:`process_video` wrote and measured."""

    source: str
    output: str
    effect: str
    frames: int
    width: int
    height: int
    source_fps: float
    processing_fps: float
    ema_alpha: float
    flicker_raw: float
    flicker_smoothed: float
    foreground_fraction: float

    def to_dict(self) -> dict:
        return asdict(self)


def flicker(masks: list[np.ndarray]) -> float:
    """Mean fraction of pixels whose mask changes between consecutive frames (0 = perfectly stable).

    Parameters
    ----------
    masks : list of numpy.ndarray
        ``(H, W)`` bool masks, one per frame, in order.
    """
    if len(masks) < 2:
        return 0.0
    return float(np.mean([np.mean(a != b) for a, b in zip(masks[:-1], masks[1:])]))


def process_video(segmenter, source: str | Path, out: str | Path, effect: str = "blur", threshold: float | None = None,
                  alpha: float = EMA_ALPHA, progress: Progress = NullProgress()) -> VideoResult:
    """Apply ``effect`` to every frame of ``source`` and write ``out`` (same size and frame rate).

    Parameters
    ----------
    segmenter : mobile_kit.runtime.Segmenter
        Model with its contract; each frame (RGB, the video's resolution) goes through
        :meth:`Segmenter.probability`.
    source : path
        Video readable by OpenCV (:data:`VIDEO_SUFFIXES`).
    out : path
        Output video (``.mp4``/``.mov``/``.avi``/``.mkv``, codec ``mp4v``), written atomically.
    effect : {"mask", "overlay", "blur"}
    threshold : float, optional
        Default: the contract's.
    alpha : float
        EMA weight of the newest frame in (0, 1]; the effect uses the smoothed p(foreground). 1 = no smoothing.

    Returns
    -------
    VideoResult
        Frames, source and processing frames per second, flicker without and with smoothing.

    Raises
    ------
    UnknownNameError
        Unknown effect.
    DatasetError
        The source cannot be opened or has no frames.
    MobileKitError
        ``out`` has no video suffix, or OpenCV cannot write it.
    """
    if effect not in EFFECTS:
        raise UnknownNameError("effect", effect, EFFECTS)
    source, out = Path(source), Path(out)
    if not is_video(out):
        raise MobileKitError(f"--out {out}: expected a video file ({', '.join(VIDEO_SUFFIXES)}), found {out.suffix or 'no'} suffix")
    cap = cv2.VideoCapture(str(source))
    if not source.is_file() or not cap.isOpened():
        raise DatasetError(f"{source}: expected a video OpenCV can read ({', '.join(VIDEO_SUFFIXES)}), found none or an unreadable file")
    thr = segmenter.output_spec.threshold if threshold is None else threshold
    fps_in = float(cap.get(cv2.CAP_PROP_FPS)) or 30.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 0
    ema = ProbabilityEMA(alpha)
    raw_masks, smooth_masks = [], []
    n, busy, foreground = 0, 0.0, 0.0
    writer = None
    try:
        with atomic_path(out) as tmp, progress.task("frames", total or 1) as t:
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                t0 = time.perf_counter()
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                prob = segmenter.probability(rgb)
                smooth = ema.update(prob)
                res = apply_effect(effect, rgb, smooth, thr)
                busy += time.perf_counter() - t0
                if writer is None:
                    h, w = rgb.shape[:2]
                    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*FOURCC), fps_in, (w, h))
                    if not writer.isOpened():
                        raise MobileKitError(f"--out {out}: OpenCV cannot write {FOURCC} video here")
                frame = cv2.cvtColor(res, cv2.COLOR_GRAY2BGR) if res.ndim == 2 else cv2.cvtColor(res, cv2.COLOR_RGB2BGR)
                writer.write(frame)
                raw_masks.append(prob > thr)
                smooth_masks.append(smooth > thr)
                foreground += float(np.mean(smooth > thr))
                n += 1
                t.advance()
            if writer is not None:
                writer.release()
                writer = None
            if n == 0:
                raise DatasetError(f"{source}: expected video frames, found none")
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    h, w = raw_masks[0].shape
    return VideoResult(str(source), str(out), effect, n, w, h, fps_in, n / busy if busy else 0.0, alpha,
                       flicker(raw_masks), flicker(smooth_masks), foreground / n)
