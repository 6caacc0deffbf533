// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "MobilekitCore",
    platforms: [.iOS(.v17), .macOS(.v13)],
    products: [
        .library(name: "MobilekitCore", targets: ["MobilekitCore"]),
    ],
    targets: [
        .target(name: "MobilekitCore"),
        .testTarget(name: "MobilekitCoreTests", dependencies: ["MobilekitCore"]),
    ]
)
