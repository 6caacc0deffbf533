import Foundation
#if canImport(Compression)
import Compression
#endif

/// Reads the associated files that TFLite metadata packs into a `.tflite`: tflite-support's `MetadataPopulator`
/// APPENDS them to the flatbuffer as a zip archive (PKWARE APPNOTE 6.3). The reader finds the End Of Central
/// Directory record from the end, takes the archive start as `eocd - cdSize - cdOffset` (so offsets relative
/// to the archive or to the file both work), walks the central directory to the entry's local header and
/// returns stored (method 0) or raw-deflated (method 8, Apple's Compression `COMPRESSION_ZLIB`) entries after
/// checking their CRC-32. Port of android_demo/core `EmbeddedFiles.java`.
public enum EmbeddedFiles {
    /// Name of the mobilekit contract inside a `.tflite` (the full metadata.json content).
    public static let contractFile = "mobilekit_metadata.json"

    /// The bytes of entry `name` of the zip archive at the end of `data`; `nil` when `data` carries no zip
    /// archive or the archive has no such entry. Throws when the archive is damaged.
    public static func read(_ data: Data, name: String) throws -> Data? {
        let d = [UInt8](data)
        guard let eocd = findEOCD(d) else { return nil }
        let entries = u16(d, eocd + 10)
        let cdSize = Int(u32(d, eocd + 12)), cdOffset = Int(u32(d, eocd + 16))
        let cdStart = eocd - cdSize
        let prefix = cdStart - cdOffset
        guard cdStart >= 0, prefix >= 0 else { throw ContractError.invalid("embedded zip: central directory outside the file") }
        var p = cdStart
        for _ in 0..<entries {
            guard p + 46 <= d.count, u32(d, p) == 0x0201_4b50 else {
                throw ContractError.invalid("embedded zip: bad central directory entry at byte \(p)")
            }
            let method = u16(d, p + 10)
            let crc = u32(d, p + 16)
            let csize = Int(u32(d, p + 20)), usize = Int(u32(d, p + 24))
            let n = u16(d, p + 28), extra = u16(d, p + 30), comment = u16(d, p + 32)
            let local = Int(u32(d, p + 42))
            guard p + 46 + n <= d.count else { throw ContractError.invalid("embedded zip: central directory truncated") }
            let entry = String(decoding: d[(p + 46)..<(p + 46 + n)], as: UTF8.self)
            p += 46 + n + extra + comment
            if entry != name { continue }
            let l = prefix + local
            guard l + 30 <= d.count, u32(d, l) == 0x0403_4b50 else {
                throw ContractError.invalid("embedded zip: bad local header for \(name) at byte \(l)")
            }
            let start = l + 30 + u16(d, l + 26) + u16(d, l + 28)
            guard start + csize <= d.count else { throw ContractError.invalid("embedded zip: \(name) is truncated") }
            let raw = Array(d[start..<(start + csize)])
            let out: [UInt8]
            switch method {
            case 0: out = raw
            case 8: out = try inflate(raw, size: usize, name: name)
            default:
                throw ContractError.invalid("embedded zip: \(name) uses compression method \(method), expected 0 (stored) or 8 (deflate)")
            }
            guard crc32(out) == crc else { throw ContractError.invalid("embedded zip: CRC-32 mismatch in \(name)") }
            return Data(out)
        }
        return nil
    }

    static func inflate(_ src: [UInt8], size: Int, name: String) throws -> [UInt8] {
        if size == 0 { return [] }
        #if canImport(Compression)
        guard !src.isEmpty else { throw ContractError.invalid("embedded zip: \(name) has no deflate data") }
        var dst = [UInt8](repeating: 0, count: size)
        let got = dst.withUnsafeMutableBufferPointer { dp in
            src.withUnsafeBufferPointer { sp in
                compression_decode_buffer(dp.baseAddress!, size, sp.baseAddress!, src.count, nil, COMPRESSION_ZLIB)
            }
        }
        guard got == size else { throw ContractError.invalid("embedded zip: \(name) inflated to \(got) bytes, expected \(size)") }
        return dst
        #else
        throw ContractError.invalid("embedded zip: \(name) is deflated and this platform has no Compression framework")
        #endif
    }

    /// Offset of the End Of Central Directory record (searched backwards over the longest comment), or nil.
    static func findEOCD(_ d: [UInt8]) -> Int? {
        guard d.count >= 22 else { return nil }
        let lo = max(0, d.count - 22 - 0xFFFF)
        var p = d.count - 22
        while p >= lo {
            if u32(d, p) == 0x0605_4b50 && p + 22 + u16(d, p + 20) == d.count { return p }
            p -= 1
        }
        return nil
    }

    /// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zip stores it.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }

    static func u16(_ d: [UInt8], _ p: Int) -> Int { Int(d[p]) | Int(d[p + 1]) << 8 }

    static func u32(_ d: [UInt8], _ p: Int) -> UInt32 {
        UInt32(d[p]) | UInt32(d[p + 1]) << 8 | UInt32(d[p + 2]) << 16 | UInt32(d[p + 3]) << 24
    }
}

extension Contract {
    /// Fields that metadata.json and the contract embedded in the model must agree on (as mobile_kit/runtime.py).
    public static let contractFields = ["name", "version", "target", "precision", "input", "output"]

    /// The model's contract: `metadata.json` beside the model when there is one (`sidecar`), else the contract
    /// embedded in the `.tflite` bytes (`model`), else nil. Both present and disagreeing on a contract field
    /// throws one line naming the fields (e.g. `input.scale, output.labels`). Mirrors
    /// `mobile_kit.runtime.load_metadata_for` and android_demo `Contract.load`.
    public static func load(sidecar: Data?, model: Data?, sidecarName: String = "metadata.json",
                            modelName: String = "model.tflite") throws -> Contract? {
        var packed: Data? = nil
        if let m = model { packed = try EmbeddedFiles.read(m, name: EmbeddedFiles.contractFile) }
        return try resolve(sidecar: sidecar, embedded: packed, sidecarName: sidecarName, embeddedName: modelName)
    }

    /// `sidecar` (metadata.json) or else `embedded` (the contract JSON carried by the model: a `.tflite`
    /// associated file, or Core ML `user_defined_metadata["mobilekit"]`); nil when neither is given; throws one
    /// line naming the differing contract fields when both are given and disagree.
    public static func resolve(sidecar: Data?, embedded: Data?, sidecarName: String = "metadata.json",
                               embeddedName: String = "the model") throws -> Contract? {
        if let s = sidecar, let e = embedded {
            let a = (try JSONSerialization.jsonObject(with: s)) as? [String: Any] ?? [:]
            let b = (try JSONSerialization.jsonObject(with: e)) as? [String: Any] ?? [:]
            var diff: [String] = []
            for k in contractFields { differences(a[k], b[k], k, &diff) }
            if !diff.isEmpty {
                throw ContractError.invalid("\(sidecarName): disagrees with the contract embedded in \(embeddedName) on "
                    + diff.joined(separator: ", ") + "; re-export, or remove the stale metadata.json")
            }
        }
        guard let chosen = sidecar ?? embedded else { return nil }
        return try parse(chosen)
    }

    static func differences(_ a: Any?, _ b: Any?, _ path: String, _ out: inout [String]) {
        if let x = a as? [String: Any], let y = b as? [String: Any] {
            for k in Set(x.keys).union(y.keys).sorted() { differences(x[k], y[k], path + "." + k, &out) }
        } else if let x = a as? [Any], let y = b as? [Any], x.count == y.count {
            var sub: [String] = []
            for i in 0..<x.count { differences(x[i], y[i], path, &sub) }
            if !sub.isEmpty { out.append(path) }
        } else if let x = a as? String, let y = b as? String {
            if x != y { out.append(path) }
        } else if let x = a as? NSNumber, let y = b as? NSNumber {
            let u = x.doubleValue, v = y.doubleValue
            if !(abs(u - v) <= 1e-12 * max(1.0, abs(u))) { out.append(path) }
        } else if (a == nil || a is NSNull) && (b == nil || b is NSNull) {
            return
        } else {
            out.append(path)
        }
    }
}
