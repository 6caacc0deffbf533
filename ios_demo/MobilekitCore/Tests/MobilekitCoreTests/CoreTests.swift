import XCTest
@testable import MobilekitCore

final class CoreTests: XCTestCase {
    func grid() -> Frame { Frame(argb: (0..<6).map { 0xFF00_0000 | UInt32($0) }, width: 3, height: 2) }
    func blue(_ f: Frame) -> [UInt32] { f.argb.map { $0 & 255 } }

    func testRotatesClockwiseThenMirrors() {
        XCTAssertEqual(blue(ImageOps.orient(grid(), rotationDegrees: 90, mirror: false)), [3, 0, 4, 1, 5, 2])
        XCTAssertEqual(blue(ImageOps.orient(grid(), rotationDegrees: 270, mirror: false)), [2, 5, 1, 4, 0, 3])
        XCTAssertEqual(blue(ImageOps.orient(grid(), rotationDegrees: 270, mirror: true)), [5, 2, 4, 1, 3, 0])
    }

    func testAreaAndBilinearResize() {
        let p = (0..<16).map { i in 0xFF00_0000 | UInt32((i % 4) * 10 + (i / 4) * 40) }
        XCTAssertEqual(blue(ImageOps.resize(Frame(argb: p, width: 4, height: 4), width: 2, height: 2)), [25, 45, 105, 125])
        let two = Frame(argb: [0xFF00_0000, 0xFF00_00C8], width: 2, height: 1)
        XCTAssertEqual(blue(ImageOps.resize(two, width: 4, height: 1)), [0, 50, 150, 200])
    }

    func testContractNormalisationAndQuantization() throws {
        let json = """
        {"input": {"height": 1, "width": 1, "channels": 3, "scale": [1, 2, 4], "offset": [0, -1, -2], "channel_order": "BGR"},
         "output": {"kind": "logits", "labels": ["background", "person", "hair"], "person_index": 1}}
        """
        let c = try Contract.parse(Data(json.utf8))
        XCTAssertEqual(Preprocess.normalize(Frame(argb: [0xFF0A_141E], width: 1, height: 1), contract: c), [30, 39, 38])
        XCTAssertEqual(Preprocess.quantize([0.5, 1.5, -0.5, 1000], scale: 1, zeroPoint: 0, unsigned: false), [1, 2, 0, 127])
        XCTAssertThrowsError(try Contract.parse(Data(json.replacingOccurrences(of: "logits", with: "relu").utf8)))
    }

    func testForegroundIndexWithLegacyPersonIndexFallback() throws {
        func contract(_ output: String) throws -> Contract {
            try Contract.parse(Data("{\"input\": {\"height\": 1, \"width\": 1}, \"output\": {\"kind\": \"softmax\", \"labels\": [\"a\", \"b\", \"c\"]\(output)}}".utf8))
        }
        XCTAssertEqual(try contract(", \"foreground_index\": 2").personIndex, 2)
        XCTAssertEqual(try contract(", \"person_index\": 2").personIndex, 2)  // v1 / early v2 files
        XCTAssertEqual(try contract(", \"person_index\": 2, \"foreground_index\": 0").personIndex, 0)  // current name wins
        XCTAssertEqual(try contract("").personIndex, 1)
        XCTAssertThrowsError(try contract(", \"foreground_index\": 5"))
        XCTAssertEqual(Postprocess.personProbability([0.1, 0.2, 0.7], contract: try contract(", \"foreground_index\": 2")), [0.7])
    }

    func testDecodeUpsampleMaskAndEffects() throws {
        let c = try Contract.parse(Data("{\"input\": {\"height\": 1, \"width\": 2}, \"output\": {\"kind\": \"softmax\"}}".utf8))
        XCTAssertEqual(Postprocess.personProbability([0.2, 0.8, 0.9, 0.1], contract: c), [0.8, 0.1])
        let up = Postprocess.upsample([0, 1], width: 2, height: 1, toWidth: 4, toHeight: 1)
        XCTAssertEqual(up, [0, 0.25, 0.75, 1])
        XCTAssertEqual(Postprocess.mask(up, threshold: 0.5), [0, 0, 255, 255])
        XCTAssertEqual(Effects.gaussianRadius(2.0), 8)
        let img = [UInt32](repeating: 0xFF12_3456, count: 100)
        XCTAssertEqual(Effects.portraitBlur(img, prob: [Float](repeating: 1, count: 100), width: 10, height: 10, threshold: 0.5), img)
        let t = Temporal(alpha: 0.5)
        _ = t.update([1])
        XCTAssertEqual(t.update([0]), [0.5])
    }

    func testPartsPaletteOverlayAndClassMaps() throws {
        XCTAssertEqual(Effects.palette(4), [0x000000, 0x800000, 0x008000, 0x808000])
        let out = Effects.partsOverlay([0xFF10_2030, 0x80FF_FFFF, 0xFF00_0000], classMap: [0, 1, 2], palette: Effects.palette(3))
        XCTAssertEqual(out, [0xFF10_2030, 0xFFB9_7272, 0xFF00_4600])  // truncated as NumPy's uint8 cast
        let json = """
        {"input": {"height": 1, "width": 2}, "output": {"kind": "softmax", "labels": ["a", "b", "c"]}}
        """
        let c = try Contract.parse(Data(json.utf8))
        let sig = try Contract.parse(Data(json.replacingOccurrences(of: "softmax", with: "sigmoid").utf8))
        let probs: [Float] = [0.1, 0.8, 0.1, 0.1, 0.2, 0.7]
        XCTAssertEqual(try Postprocess.classProbabilities(probs, contract: c), probs)
        XCTAssertEqual(Postprocess.classMap(probs, width: 2, height: 1, toWidth: 4, toHeight: 1), [1, 1, 2, 2])
        let fg = Postprocess.foreground(probs, height: 1, width: 2)
        XCTAssertEqual(fg[0], 0.9, accuracy: 1e-6)
        XCTAssertEqual(fg[1], 0.9, accuracy: 1e-6)
        XCTAssertThrowsError(try Postprocess.classProbabilities(probs, contract: sig))  // sigmoid refused for K = 3
    }
}
