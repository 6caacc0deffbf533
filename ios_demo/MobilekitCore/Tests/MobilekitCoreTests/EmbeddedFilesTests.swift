import XCTest
@testable import MobilekitCore

final class EmbeddedFilesTests: XCTestCase {
    static let meta = "{\"input\": {\"height\": 8, \"width\": 8}, \"output\": {\"kind\": \"sigmoid\", \"labels\": [\"person\"]}}"
    /// `meta` as raw deflate (zlib.compressobj(9, DEFLATED, -15)).
    static let metaDeflated: [UInt8] = [
        0xab, 0x56, 0xca, 0xcc, 0x2b, 0x28, 0x2d, 0x51, 0xb2, 0x52, 0xa8, 0x56, 0xca, 0x48, 0xcd, 0x4c, 0xcf, 0x00, 0x31,
        0x2d, 0x74, 0x14, 0x94, 0xca, 0x33, 0x53, 0x4a, 0x32, 0x40, 0xec, 0x5a, 0x20, 0x27, 0xbf, 0xb4, 0x04, 0xa6, 0x28,
        0x3b, 0x33, 0x2f, 0x05, 0xc8, 0x50, 0x2a, 0xce, 0x4c, 0xcf, 0xcd, 0xcf, 0x4c, 0x51, 0x02, 0xca, 0xe6, 0x24, 0x26,
        0xa5, 0xe6, 0x14, 0x03, 0x05, 0xa3, 0x95, 0x0a, 0x52, 0x8b, 0x8a, 0xf3, 0xf3, 0x94, 0x62, 0x6b, 0x6b, 0x01,
    ]

    struct Entry {
        var name: String
        var payload: [UInt8]
        var method: Int
        var plain: [UInt8]
    }

    static func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8((v >> (8 * $0)) & 255) } }

    /// `prefix` junk bytes (a stand-in flatbuffer) followed by a zip whose offsets are relative to its own start.
    static func modelWithZip(prefix: Int, _ entries: [Entry]) -> Data {
        var zip: [UInt8] = [], cen: [UInt8] = []
        for e in entries {
            let name = Array(e.name.utf8), crc = Int(EmbeddedFiles.crc32(e.plain))
            // method, time+date, CRC-32, sizes, name and extra lengths: shared by both headers
            var common: [UInt8] = le(e.method, 2)
            common += le(0, 4)
            common += le(crc, 4)
            common += le(e.payload.count, 4)
            common += le(e.plain.count, 4)
            common += le(name.count, 2)
            common += le(0, 2)
            cen += le(0x0201_4b50, 4)
            cen += le(20, 2)  // version made by
            cen += le(20, 2)  // version needed
            cen += le(0, 2)  // flags
            cen += common
            cen += le(0, 6)  // comment length, disk, internal attributes
            cen += le(0, 4)  // external attributes
            cen += le(zip.count, 4)  // local header offset, relative to the zip's start
            cen += name
            zip += le(0x0403_4b50, 4)
            zip += le(20, 2)
            zip += le(0, 2)
            zip += common
            zip += name
            zip += e.payload
        }
        var eocd: [UInt8] = le(0x0605_4b50, 4)
        eocd += le(0, 4)  // disk numbers
        eocd += le(entries.count, 2)
        eocd += le(entries.count, 2)
        eocd += le(cen.count, 4)
        eocd += le(zip.count, 4)
        eocd += le(0, 2)  // comment length
        var all: [UInt8] = (0..<prefix).map { UInt8(($0 * 37 + 11) & 255) }
        all += zip
        all += cen
        all += eocd
        return Data(all)
    }

    func testReadsStoredAndDeflatedEntriesAfterAPrefix() throws {
        let plain = Array(Self.meta.utf8)
        let data = Self.modelWithZip(prefix: 1000, [
            Entry(name: "labels.txt", payload: Array("person\n".utf8), method: 0, plain: Array("person\n".utf8)),
            Entry(name: EmbeddedFiles.contractFile, payload: Self.metaDeflated, method: 8, plain: plain),
        ])
        XCTAssertEqual(try EmbeddedFiles.read(data, name: "labels.txt"), Data("person\n".utf8))
        #if canImport(Compression)
        XCTAssertEqual(try EmbeddedFiles.read(data, name: EmbeddedFiles.contractFile), Data(plain))
        #endif
        XCTAssertNil(try EmbeddedFiles.read(data, name: "missing.json"))
        XCTAssertNil(try EmbeddedFiles.read(Data(repeating: 7, count: 300), name: EmbeddedFiles.contractFile))
        XCTAssertEqual(EmbeddedFiles.crc32(Array("123456789".utf8)), 0xCBF4_3926)
    }

    func testContractFallsBackToTheEmbeddedCopyAndRefusesADisagreement() throws {
        let plain = Array(Self.meta.utf8)
        let model = Self.modelWithZip(prefix: 64, [Entry(name: EmbeddedFiles.contractFile, payload: plain, method: 0, plain: plain)])
        let c = try XCTUnwrap(try Contract.load(sidecar: nil, model: model))
        XCTAssertEqual(c.height, 8)
        XCTAssertEqual(c.kind, "sigmoid")
        XCTAssertNil(try Contract.load(sidecar: nil, model: Data(repeating: 0, count: 100)))
        let same = Self.meta.replacingOccurrences(of: "{\"input\"", with: "{\"created\": \"today\", \"input\"")
        XCTAssertEqual(try Contract.load(sidecar: Data(same.utf8), model: model)?.height, 8)
        let stale = Self.meta.replacingOccurrences(of: "\"width\": 8", with: "\"width\": 16")
            .replacingOccurrences(of: "sigmoid", with: "logits")
        XCTAssertThrowsError(try Contract.load(sidecar: Data(stale.utf8), model: model)) { e in
            let m = String(describing: e)
            XCTAssertTrue(m.contains("input.width") && m.contains("output.kind") && !m.contains("input.height"), m)
        }
    }
}
