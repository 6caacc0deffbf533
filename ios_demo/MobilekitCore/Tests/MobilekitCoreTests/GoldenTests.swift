import Foundation
import XCTest
@testable import MobilekitCore

/// Golden vectors written by `mobilekit export --bundle DIR`: set MOBILEKIT_BUNDLES to one or more bundle
/// folders separated by ':' (e.g. the three bundles of android_demo/README.md) and run `swift test`.
final class GoldenTests: XCTestCase {
    func bundles() throws -> [URL] {
        guard let env = ProcessInfo.processInfo.environment["MOBILEKIT_BUNDLES"], !env.isEmpty else {
            throw XCTSkip("set MOBILEKIT_BUNDLES=DIR[:DIR...] to bundles written by mobilekit export --bundle")
        }
        return env.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
    }

    func testEveryBundleReproducesTheToolkit() throws {
        for url in try bundles() {
            let report = try GoldenCheck.check(try GoldenBundle(root: url))
            XCTAssertTrue(report.ok, "\(url.path): \(report.failures) worst \(report.worst)")
            XCTAssertEqual(report.worst["input_mismatch_fraction"] ?? 1, 0, accuracy: 1e-3)
        }
    }

    func testWrongNormalisationFails() throws {
        for url in try bundles() {
            let tmp = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
            try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(at: tmp.appendingPathComponent("golden"), withDestinationURL: url.appendingPathComponent("golden"))
            var meta = try JSONSerialization.jsonObject(with: Data(contentsOf: url.appendingPathComponent("metadata.json"))) as! [String: Any]
            var input = meta["input"] as! [String: Any]
            input["scale"] = 2.0 / 255.0
            input["offset"] = -1.0
            meta["input"] = input
            try JSONSerialization.data(withJSONObject: meta).write(to: tmp.appendingPathComponent("metadata.json"))
            XCTAssertFalse(try GoldenCheck.check(try GoldenBundle(root: tmp)).ok)
        }
    }
}
