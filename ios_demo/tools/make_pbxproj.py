"""Write MobilekitDemo.xcodeproj/project.pbxproj listing every .swift file of MobilekitDemo/.

Run after adding or removing an app source file: ``python ios_demo/tools/make_pbxproj.py``.
IDs are derived from the file names (stable, 24 hex digits), so the output is deterministic.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def oid(*parts: str) -> str:
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:24].upper()


def render() -> str:
    """The project file text for the current MobilekitDemo/*.swift."""
    sources = sorted(p.name for p in (HERE / "MobilekitDemo").glob("*.swift"))
    app, proj = "MobilekitDemo.app", "MobilekitDemo"
    ids = {k: oid(k) for k in ("project", "main_group", "app_group", "products", "app_ref", "target", "sources_phase",
                                 "frameworks_phase", "resources_phase", "proj_cfgs", "target_cfgs", "proj_debug",
                                 "proj_release", "target_debug", "target_release", "pkg_ref", "pkg_product",
                                 "pkg_build", "models_ref", "models_build", "packages_group")}
    lines = ["// !$*UTF8*$!", "{", "\tarchiveVersion = 1;", "\tclasses = {", "\t};", "\tobjectVersion = 60;", "\tobjects = {", ""]
    lines.append("/* Begin PBXBuildFile section */")
    for s in sources:
        lines.append(f"\t\t{oid('build', s)} /* {s} in Sources */ = {{isa = PBXBuildFile; fileRef = {oid('ref', s)} /* {s} */; }};")
    lines.append(f"\t\t{ids['pkg_build']} /* MobilekitCore in Frameworks */ = {{isa = PBXBuildFile; productRef = {ids['pkg_product']} /* MobilekitCore */; }};")
    lines.append(f"\t\t{ids['models_build']} /* Models in Resources */ = {{isa = PBXBuildFile; fileRef = {ids['models_ref']} /* Models */; }};")
    lines += ["/* End PBXBuildFile section */", "", "/* Begin PBXFileReference section */"]
    for s in sources:
        lines.append(f"\t\t{oid('ref', s)} /* {s} */ = {{isa = PBXFileReference; lastKnownFileType = sourcecode.swift; path = {s}; sourceTree = \"<group>\"; }};")
    lines.append(f"\t\t{ids['app_ref']} /* {app} */ = {{isa = PBXFileReference; explicitFileType = wrapper.application; includeInIndex = 0; path = {app}; sourceTree = BUILT_PRODUCTS_DIR; }};")
    lines.append(f"\t\t{ids['models_ref']} /* Models */ = {{isa = PBXFileReference; lastKnownFileType = folder; path = Models; sourceTree = \"<group>\"; }};")
    lines += ["/* End PBXFileReference section */", "", "/* Begin PBXFrameworksBuildPhase section */",
              f"\t\t{ids['frameworks_phase']} /* Frameworks */ = {{", "\t\t\tisa = PBXFrameworksBuildPhase;",
              "\t\t\tbuildActionMask = 2147483647;", "\t\t\tfiles = (", f"\t\t\t\t{ids['pkg_build']} /* MobilekitCore in Frameworks */,",
              "\t\t\t);", "\t\t\trunOnlyForDeploymentPostprocessing = 0;", "\t\t};", "/* End PBXFrameworksBuildPhase section */", "",
              "/* Begin PBXGroup section */",
              f"\t\t{ids['main_group']} = {{", "\t\t\tisa = PBXGroup;", "\t\t\tchildren = (",
              f"\t\t\t\t{ids['app_group']} /* {proj} */,", f"\t\t\t\t{ids['models_ref']} /* Models */,",
              f"\t\t\t\t{ids['products']} /* Products */,", "\t\t\t);", "\t\t\tsourceTree = \"<group>\";", "\t\t};",
              f"\t\t{ids['app_group']} /* {proj} */ = {{", "\t\t\tisa = PBXGroup;", "\t\t\tchildren = ("]
    lines += [f"\t\t\t\t{oid('ref', s)} /* {s} */," for s in sources]
    lines += ["\t\t\t);", f"\t\t\tpath = {proj};", "\t\t\tsourceTree = \"<group>\";", "\t\t};",
              f"\t\t{ids['products']} /* Products */ = {{", "\t\t\tisa = PBXGroup;", "\t\t\tchildren = (",
              f"\t\t\t\t{ids['app_ref']} /* {app} */,", "\t\t\t);", "\t\t\tname = Products;", "\t\t\tsourceTree = \"<group>\";",
              "\t\t};", "/* End PBXGroup section */", "", "/* Begin PBXNativeTarget section */",
              f"\t\t{ids['target']} /* {proj} */ = {{", "\t\t\tisa = PBXNativeTarget;",
              f"\t\t\tbuildConfigurationList = {ids['target_cfgs']} /* Build configuration list for PBXNativeTarget \"{proj}\" */;",
              "\t\t\tbuildPhases = (", f"\t\t\t\t{ids['sources_phase']} /* Sources */,", f"\t\t\t\t{ids['frameworks_phase']} /* Frameworks */,",
              f"\t\t\t\t{ids['resources_phase']} /* Resources */,", "\t\t\t);", "\t\t\tbuildRules = (", "\t\t\t);",
              "\t\t\tdependencies = (", "\t\t\t);", f"\t\t\tname = {proj};", "\t\t\tpackageProductDependencies = (",
              f"\t\t\t\t{ids['pkg_product']} /* MobilekitCore */,", "\t\t\t);", f"\t\t\tproductName = {proj};",
              f"\t\t\tproductReference = {ids['app_ref']} /* {app} */;", "\t\t\tproductType = \"com.apple.product-type.application\";",
              "\t\t};", "/* End PBXNativeTarget section */", "", "/* Begin PBXProject section */",
              f"\t\t{ids['project']} /* Project object */ = {{", "\t\t\tisa = PBXProject;", "\t\t\tattributes = {",
              "\t\t\t\tBuildIndependentTargetsInParallel = 1;", "\t\t\t\tLastSwiftUpdateCheck = 1500;", "\t\t\t\tLastUpgradeCheck = 1500;",
              "\t\t\t};", f"\t\t\tbuildConfigurationList = {ids['proj_cfgs']} /* Build configuration list for PBXProject \"{proj}\" */;",
              "\t\t\tcompatibilityVersion = \"Xcode 15.0\";", "\t\t\tdevelopmentRegion = en;", "\t\t\thasScannedForEncodings = 0;",
              "\t\t\tknownRegions = (", "\t\t\t\ten,", "\t\t\t\tBase,", "\t\t\t);", f"\t\t\tmainGroup = {ids['main_group']};",
              "\t\t\tpackageReferences = (", f"\t\t\t\t{ids['pkg_ref']} /* XCLocalSwiftPackageReference \"MobilekitCore\" */,", "\t\t\t);",
              f"\t\t\tproductRefGroup = {ids['products']} /* Products */;", "\t\t\tprojectDirPath = \"\";", "\t\t\tprojectRoot = \"\";",
              "\t\t\ttargets = (", f"\t\t\t\t{ids['target']} /* {proj} */,", "\t\t\t);", "\t\t};", "/* End PBXProject section */", "",
              "/* Begin PBXResourcesBuildPhase section */", f"\t\t{ids['resources_phase']} /* Resources */ = {{",
              "\t\t\tisa = PBXResourcesBuildPhase;", "\t\t\tbuildActionMask = 2147483647;", "\t\t\tfiles = (",
              f"\t\t\t\t{ids['models_build']} /* Models in Resources */,", "\t\t\t);", "\t\t\trunOnlyForDeploymentPostprocessing = 0;",
              "\t\t};", "/* End PBXResourcesBuildPhase section */", "", "/* Begin PBXSourcesBuildPhase section */",
              f"\t\t{ids['sources_phase']} /* Sources */ = {{", "\t\t\tisa = PBXSourcesBuildPhase;", "\t\t\tbuildActionMask = 2147483647;",
              "\t\t\tfiles = ("]
    lines += [f"\t\t\t\t{oid('build', s)} /* {s} in Sources */," for s in sources]
    lines += ["\t\t\t);", "\t\t\trunOnlyForDeploymentPostprocessing = 0;", "\t\t};", "/* End PBXSourcesBuildPhase section */", "",
              "/* Begin XCBuildConfiguration section */"]
    common = ["ALWAYS_SEARCH_USER_PATHS = NO;", "CLANG_ENABLE_MODULES = YES;", "IPHONEOS_DEPLOYMENT_TARGET = 17.0;",
              "SDKROOT = iphoneos;", "SWIFT_VERSION = 5.0;"]
    target = ["CODE_SIGN_STYLE = Automatic;", "CURRENT_PROJECT_VERSION = 1;", "GENERATE_INFOPLIST_FILE = YES;",
              "INFOPLIST_KEY_NSCameraUsageDescription = \"The camera feeds the live person segmentation.\";",
              "INFOPLIST_KEY_UIApplicationSceneManifest_Generation = YES;", "INFOPLIST_KEY_UILaunchScreen_Generation = YES;",
              "INFOPLIST_KEY_UISupportedInterfaceOrientations = \"UIInterfaceOrientationPortrait UIInterfaceOrientationLandscapeLeft UIInterfaceOrientationLandscapeRight\";",
              "LD_RUNPATH_SEARCH_PATHS = \"$(inherited) @executable_path/Frameworks\";", "MARKETING_VERSION = 0.1.0;",
              "PRODUCT_BUNDLE_IDENTIFIER = com.mobilekit.demo;", "PRODUCT_NAME = \"$(TARGET_NAME)\";", "SWIFT_EMIT_LOC_STRINGS = YES;",
              "TARGETED_DEVICE_FAMILY = \"1,2\";"]
    for key, name, extra in (("proj_debug", "Debug", common + ["ONLY_ACTIVE_ARCH = YES;", "SWIFT_OPTIMIZATION_LEVEL = \"-Onone\";"]),
                             ("proj_release", "Release", common + ["SWIFT_COMPILATION_MODE = wholemodule;", "VALIDATE_PRODUCT = YES;"]),
                             ("target_debug", "Debug", target), ("target_release", "Release", target)):
        lines += [f"\t\t{ids[key]} /* {name} */ = {{", "\t\t\tisa = XCBuildConfiguration;", "\t\t\tbuildSettings = {"]
        lines += [f"\t\t\t\t{s}" for s in extra]
        lines += ["\t\t\t};", f"\t\t\tname = {name};", "\t\t};"]
    lines += ["/* End XCBuildConfiguration section */", "", "/* Begin XCConfigurationList section */"]
    for key, d, r, what in (("proj_cfgs", "proj_debug", "proj_release", f"PBXProject \"{proj}\""),
                            ("target_cfgs", "target_debug", "target_release", f"PBXNativeTarget \"{proj}\"")):
        lines += [f"\t\t{ids[key]} /* Build configuration list for {what} */ = {{", "\t\t\tisa = XCConfigurationList;",
                  "\t\t\tbuildConfigurations = (", f"\t\t\t\t{ids[d]} /* Debug */,", f"\t\t\t\t{ids[r]} /* Release */,", "\t\t\t);",
                  "\t\t\tdefaultConfigurationIsVisible = 0;", "\t\t\tdefaultConfigurationName = Release;", "\t\t};"]
    lines += ["/* End XCConfigurationList section */", "", "/* Begin XCLocalSwiftPackageReference section */",
              f"\t\t{ids['pkg_ref']} /* XCLocalSwiftPackageReference \"MobilekitCore\" */ = {{",
              "\t\t\tisa = XCLocalSwiftPackageReference;", "\t\t\trelativePath = MobilekitCore;", "\t\t};",
              "/* End XCLocalSwiftPackageReference section */", "", "/* Begin XCSwiftPackageProductDependency section */",
              f"\t\t{ids['pkg_product']} /* MobilekitCore */ = {{", "\t\t\tisa = XCSwiftPackageProductDependency;",
              "\t\t\tproductName = MobilekitCore;", "\t\t};", "/* End XCSwiftPackageProductDependency section */",
              "\t};", f"\trootObject = {ids['project']} /* Project object */;", "}", ""]
    return "\n".join(lines)


def main() -> Path:
    out = HERE / "MobilekitDemo.xcodeproj" / "project.pbxproj"
    out.parent.mkdir(exist_ok=True)
    out.write_text(render())
    return out


if __name__ == "__main__":
    print(main())
