"""Property tests: random bytes and random small images never crash validate, eval, inspect or report.

Each either succeeds or raises :class:`MobileKitError` (which the CLI turns
into one line and exit 2); any other exception is a bug.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobile_kit.errors import MobileKitError

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

#: JSON values up to a small depth (what a hand-edited or truncated results file may hold).
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**6) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["results", "error", "artifact", "device", "latency_us", "size_bytes", "delegate",
                         "schema_version", "memory_mb", "min", "mean", "kind", "x"]), inner, max_size=5),
    max_leaves=12,
)

#: Small images as encoded files (PNG or JPEG, 1 or 3 channels, odd sizes), or random bytes.
IMAGES = st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 3]), st.sampled_from([".png", ".jpg"]),
                   st.integers(0, 2**32 - 1))


def _encode(h, w, c, ext, seed, binary=False) -> bytes:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, (h, w), dtype=np.uint8) * 255 if binary else rng.integers(0, 256, (h, w, c)[: 2 if c == 1 else 3],
                                                                                      dtype=np.uint8)
    ok, buf = cv2.imencode(ext, a)
    assert ok
    return buf.tobytes()


def _ok_or_user_error(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except MobileKitError as e:
        assert str(e).strip() and "\n" not in str(e).strip().splitlines()[0]
        return None


@pytest.fixture(scope="module")
def tiny_segmenter(tiny_run):
    from mobile_kit.runtime import load_segmenter

    return load_segmenter(tiny_run)


@SETTINGS
@given(st.lists(st.tuples(IMAGES, st.one_of(st.none(), st.binary(max_size=64)), st.booleans()), min_size=1, max_size=3))
def test_validate_and_eval_never_crash(tiny_segmenter, photos):
    from mobile_kit.data import validate_dataset
    from mobile_kit.eval import evaluate

    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "images").mkdir()
        (root / "masks").mkdir()
        for i, ((h, w, c, ext, seed), junk, with_mask) in enumerate(photos):
            (root / "images" / f"p{i}{ext}").write_bytes(junk if junk is not None else _encode(h, w, c, ext, seed))
            if with_mask:
                mh, mw = (h, w) if seed % 3 else (h + 1, w)  # sometimes a mask of another size
                (root / "masks" / f"p{i}.png").write_bytes(_encode(mh, mw, 1, ".png", seed, binary=seed % 5 != 0))
        rep = _ok_or_user_error(validate_dataset, root)
        if rep is not None:
            assert len(rep.pairs) <= len(photos)
        r = _ok_or_user_error(evaluate, tiny_segmenter, root)
        if r is not None:
            assert 0.0 <= r.person_iou <= 1.0 and r.n_images >= 1


@SETTINGS
@given(st.binary(max_size=2048), st.sampled_from([".tflite", ".onnx", ".keras", ".h5"]))
def test_inspect_random_bytes(data, suffix):
    from mobile_kit.inspect import inspect_model

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"model{suffix}"
        p.write_bytes(data)
        rep = _ok_or_user_error(inspect_model, p, gpu=False)
        assert rep is None or rep["format"]


@SETTINGS
@given(st.one_of(st.binary(max_size=512), JSON.map(lambda v: json.dumps(v).encode())))
def test_report_random_input(data):
    from mobile_kit.bench.report import report

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "results.json"
        p.write_bytes(data)
        r = _ok_or_user_error(report, [p], Path(d) / "out")
        if r is not None:
            assert (Path(d) / "out" / "report.md").is_file()
        assert not [q for q in Path(d).rglob(".*")]  # no staging or temp files left either way


def test_lookup_returns_the_registered_entry_or_names_the_valid_ones():
    from mobile_kit.errors import UnknownNameError, lookup

    reg = {"b": 2, "a": 1}
    assert lookup(reg, "thing", "a") == 1
    with pytest.raises(UnknownNameError, match=r"unknown thing 'c'; valid things: a, b") as e:
        lookup(reg, "thing", "c")
    assert isinstance(e.value, KeyError) and e.value.valid == ["a", "b"]


def test_lookup_in_a_collection_of_names_returns_the_name():
    from mobile_kit.errors import UnknownNameError, lookup

    assert lookup(("flip", "scales"), "TTA mode", "flip") == "flip"
    with pytest.raises(UnknownNameError, match="valid TTA modes: flip, scales"):
        lookup(("flip", "scales"), "TTA mode", "zoom")
