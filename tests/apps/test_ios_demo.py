"""ios_demo: every .swift parses (tree-sitter-swift), the Xcode project lists every app source, and the Swift
core's constants equal the toolkit's. No Swift compiler runs here: `swift test` and the app need a Mac."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

IOS = Path(__file__).resolve().parents[2] / "ios_demo"
PBXPROJ = IOS / "MobilekitDemo.xcodeproj" / "project.pbxproj"


@pytest.fixture(scope="module")
def swift_parser():
    ts = pytest.importorskip("tree_sitter", reason="tree-sitter not installed (pip install -e '.[test]')")
    swift = pytest.importorskip("tree_sitter_swift", reason="tree-sitter-swift not installed (pip install -e '.[test]')")
    return ts.Parser(ts.Language(swift.language()))


def syntax_errors(parser, source: bytes) -> list[str]:
    bad = []
    stack = [parser.parse(source).root_node]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            bad.append(f"{'missing ' + n.type if n.is_missing else 'ERROR'} at line {n.start_point[0] + 1}")
        stack.extend(n.children)
    return bad


def swift_files() -> list[Path]:
    return sorted(IOS.rglob("*.swift"))


def test_every_swift_file_parses(swift_parser):
    files = swift_files()
    assert len(files) >= 14
    errors = {str(f.relative_to(IOS)): e for f in files if (e := syntax_errors(swift_parser, f.read_bytes()))}
    assert not errors, errors


def test_the_syntax_gate_catches_broken_swift(swift_parser):
    assert syntax_errors(swift_parser, b"struct A { func f( -> Int { return 1 }")
    assert not syntax_errors(swift_parser, b"struct A { func f() -> Int { return 1 } }")


def test_xcode_project_lists_every_app_source_in_its_sources_phase():
    text = PBXPROJ.read_text()
    app = sorted(p.name for p in (IOS / "MobilekitDemo").glob("*.swift"))
    assert len(app) >= 7
    phase = re.search(r"isa = PBXSourcesBuildPhase;.*?files = \((.*?)\);", text, re.S).group(1)
    in_phase = set(re.findall(r"/\* (\S+\.swift) in Sources \*/", phase))
    refs = set(re.findall(r"path = (\S+\.swift);", text))
    assert in_phase == set(app) == refs
    assert "relativePath = MobilekitCore;" in text and (IOS / "MobilekitCore" / "Package.swift").is_file()
    assert "IPHONEOS_DEPLOYMENT_TARGET = 17.0;" in text and "NSCameraUsageDescription" in text
    ids = re.findall(r"^\t\t([0-9A-F]{24}) ", text, re.M)
    assert len(ids) == len(set(ids)), "duplicate object ids"
    for ref in set(re.findall(r"(?:fileRef|productRef|mainGroup|rootObject) = ([0-9A-F]{24})", text)):
        assert ref in ids, f"dangling reference {ref}"


def test_xcode_project_is_up_to_date_with_the_generator():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_pbxproj", IOS / "tools" / "make_pbxproj.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.render() == PBXPROJ.read_text(), "run python ios_demo/tools/make_pbxproj.py"


def test_swift_core_constants_equal_the_toolkit():
    from mobile_kit.effects.temporal import EMA_ALPHA
    from mobile_kit.export import golden

    core = "\n".join(p.read_text() for p in (IOS / "MobilekitCore" / "Sources").rglob("*.swift"))
    assert float(re.search(r"emaAlpha: Float = ([\d.]+)", core).group(1)) == EMA_ALPHA
    assert float(re.search(r"featherRadiusFraction = ([\d.]+)", core).group(1)) == golden.FEATHER_RADIUS_FRACTION
    assert float(re.search(r"featherMinSigma = ([\d.]+)", core).group(1)) == golden.FEATHER_MIN_SIGMA
    assert float(re.search(r"blurFraction = ([\d.]+)", core).group(1)) == golden.BLUR_FRACTION
    assert float(re.search(r"blurMinSigma = ([\d.]+)", core).group(1)) == golden.BLUR_MIN_SIGMA
    assert float(re.search(r"partsAlpha = ([\d.]+)", core).group(1)) == golden.PARTS_ALPHA
    assert "import UIKit" not in core and "import SwiftUI" not in core  # Foundation only
    imports = set(re.findall(r"^import (\w+)", core, re.M))
    assert imports <= {"Foundation", "Compression"} and "Foundation" in imports, imports
    # Apple's Compression (raw deflate for the contract embedded in a .tflite) only behind canImport
    assert core.count("import Compression") == core.count("#if canImport(Compression)\nimport Compression")
