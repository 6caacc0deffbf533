"""Fixtures for the app tests: the Java toolchain and bundles exported from real and synthetic models."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANDROID = ROOT / "android_demo"
CORE = ANDROID / "core" / "src"
JUNIT_JARS = [Path("/usr/share/java/junit4.jar"), Path("/usr/share/java/hamcrest-core.jar")]


def find_jdk_tool(name: str) -> str | None:
    """``javac``/``java`` on PATH, under $JAVA_HOME, or in a Debian JDK folder."""
    hit = shutil.which(name)
    if hit:
        return hit
    cands = [os.path.join(os.environ.get("JAVA_HOME", "/nonexistent"), "bin", name)]
    cands += sorted(glob.glob(f"/usr/lib/jvm/*/bin/{name}"))
    for c in cands:
        if os.access(c, os.X_OK) and (name != "javac" or Path(c).parent.joinpath("java").exists()):
            return c
    return None


@pytest.fixture(scope="session")
def java_core(tmp_path_factory):
    """Compile android_demo :core (and its JUnit tests when JUnit 4 is installed) with ``javac --release 8``."""
    javac = find_jdk_tool("javac")
    if javac is None:
        pytest.skip("javac not found (install a JDK, e.g. apt-get install default-jdk-headless): cannot build :core")
    java = str(Path(javac).with_name("java"))
    out = tmp_path_factory.mktemp("core_classes")
    srcs = sorted(str(p) for p in (CORE / "main" / "java").rglob("*.java"))
    have_junit = all(j.is_file() for j in JUNIT_JARS)
    cp = os.pathsep.join(str(j) for j in JUNIT_JARS)
    if have_junit:
        srcs += sorted(str(p) for p in (CORE / "test" / "java").rglob("*.java"))
    cmd = [javac, "--release", "8", "-Xlint:all", "-Werror", "-encoding", "UTF-8", "-d", str(out)]
    if have_junit:
        cmd += ["-cp", cp]
    r = subprocess.run(cmd + srcs, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    return {"java": java, "classes": out, "junit_cp": cp if have_junit else None}


def golden_check(java_core, *bundles, timeout=120):
    """Run GoldenCheck; return (exit status, parsed JSON line)."""
    import json

    r = subprocess.run([java_core["java"], "-cp", str(java_core["classes"]), "com.mobilekit.core.GoldenCheck",
                        *map(str, bundles)], capture_output=True, text=True, timeout=timeout)
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one JSON line, found {r.stdout!r} / {r.stderr!r}"
    return r.returncode, json.loads(lines[0])


@pytest.fixture(scope="session")
def builtin_bundles(tmp_path_factory):
    """The built-in model exported as bundles: fp32 softmax, fp32 with the sigmoid head, int8 with uint8 I/O."""
    from mobile_kit.export import export_model

    root = tmp_path_factory.mktemp("bundles")
    out = {}
    for name, target, kw in (("fp32", "tflite-fp32", {}), ("fp32-sigmoid", "tflite-fp32", {"head": "sigmoid"}),
                             ("int8-uint8", "tflite-int8", {"int8_io": "uint8"})):
        export_model(None, target, root / name, bundle=True, **kw)
        out[name] = root / name
    return out


@pytest.fixture(scope="session")
def parsing_bundles(tmp_path_factory):
    """``builtin:parsing`` (8 body-part classes) exported as bundles: tflite-fp32 and tflite-int8 with uint8 I/O."""
    from mobile_kit.export import export_model

    root = tmp_path_factory.mktemp("parsing_bundles")
    out = {}
    for name, target, kw in (("fp32", "tflite-fp32", {}), ("int8-uint8", "tflite-int8", {"int8_io": "uint8"})):
        export_model("builtin:parsing", target, root / name, bundle=True, **kw)
        out[name] = root / name
    return out
