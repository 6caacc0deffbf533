import Foundation

/// Reader for a bundle's `golden/` folder (format: android_demo/GOLDEN.md) and the same stage-by-stage check
/// as android_demo's GoldenCheck.
public struct GoldenManifest: Codable {
    public struct FileEntry: Codable {
        public var path: String
        public var dtype: String
        public var shape: [Int]
    }

    public struct Tensor: Codable {
        public var dtype: String
        public var shape: [Int]
        public var scale: Double?
        public var zero_point: Int?
        public var quantized: Bool { dtype == "uint8" || dtype == "int8" }
    }

    public struct Case: Codable {
        public var name: String
        public var frame_width: Int
        public var frame_height: Int
        public var rotation_degrees: Int
        public var mirror: Bool
        public var width: Int
        public var height: Int
        public var feather_radius: Int
        public var blur_radius: Int
        public var files: [String: FileEntry]
    }

    public struct EffectParams: Codable {
        public var threshold: Double
        public var feather_radius_fraction: Double
        public var feather_min_sigma: Double
        public var blur_fraction: Double
        public var blur_min_sigma: Double
        public var temporal_ema_alpha: Double
    }

    /// K-class (parsing) bundles, format version 2: labels, overlay alpha and palette (RGB triples).
    public struct Parts: Codable {
        public var labels: [String]
        public var alpha: Double
        public var palette: [[Int]]
    }

    public var format: String
    public var version: Int?
    public var task: String?
    public var parts: Parts?
    public var byte_order: String
    public var artifact: String?
    public var input_tensor: Tensor
    public var output_tensor: Tensor
    public var effects: EffectParams
    public var tolerances: [String: Double]
    public var cases: [Case]
}

public struct GoldenBundle {
    public let root: URL
    public let manifest: GoldenManifest
    public let contract: Contract

    /// `root` is the bundle folder (golden/ plus metadata.json, or the artifact with its embedded contract;
    /// see `Contract.load`: metadata.json first, both must agree).
    public init(root: URL) throws {
        self.root = root
        manifest = try JSONDecoder().decode(GoldenManifest.self, from: Data(contentsOf: root.appendingPathComponent("golden/manifest.json")))
        guard manifest.format == "mobilekit-golden", manifest.byte_order == "little" else {
            throw ContractError.invalid("golden/manifest.json: expected format mobilekit-golden, little-endian")
        }
        let artifact = manifest.artifact ?? "model.tflite"
        let sidecar = try? Data(contentsOf: root.appendingPathComponent("metadata.json"))
        let model = try? Data(contentsOf: root.appendingPathComponent(artifact))
        guard let c = try Contract.load(sidecar: sidecar, model: model, modelName: artifact) else {
            throw ContractError.invalid("\(root.path): no metadata.json and no contract embedded in \(artifact)")
        }
        contract = c
    }

    func data(_ c: GoldenManifest.Case, _ key: String) throws -> (Data, GoldenManifest.FileEntry) {
        guard let f = c.files[key] else { throw ContractError.invalid("golden case \(c.name): no \(key)") }
        return (try Data(contentsOf: root.appendingPathComponent("golden").appendingPathComponent(f.path)), f)
    }

    public func uint32s(_ c: GoldenManifest.Case, _ key: String) throws -> [UInt32] {
        let bytes = [UInt8](try data(c, key).0)
        return stride(from: 0, to: bytes.count, by: 4).map { GoldenBundle.le32(bytes, $0) }
    }

    /// Little-endian uint32 at byte offset `i`.
    static func le32(_ b: [UInt8], _ i: Int) -> UInt32 {
        let b0 = UInt32(b[i]), b1 = UInt32(b[i + 1]) << 8
        let b2 = UInt32(b[i + 2]) << 16, b3 = UInt32(b[i + 3]) << 24
        return b0 | b1 | b2 | b3
    }

    /// Values of any stored dtype as Float.
    public func floats(_ c: GoldenManifest.Case, _ key: String) throws -> [Float] {
        let (d, f) = try data(c, key)
        let bytes = [UInt8](d)
        switch f.dtype {
        case "float32":
            return stride(from: 0, to: bytes.count, by: 4).map { Float(bitPattern: GoldenBundle.le32(bytes, $0)) }
        case "uint8": return bytes.map { Float($0) }
        case "int8": return bytes.map { Float(Int8(bitPattern: $0)) }
        default: throw ContractError.invalid("golden \(key): unsupported dtype \(f.dtype)")
        }
    }

    public func sourceFrame(_ c: GoldenManifest.Case) throws -> Frame {
        return Frame(argb: try uint32s(c, "source_argb"), width: c.frame_width, height: c.frame_height)
    }
}

/// Worst differences over all cases and the failures (empty when every stage is within tolerance).
public struct GoldenReport {
    public var worst: [String: Double] = [:]
    public var failures: [String] = []
    public var ok: Bool { failures.isEmpty }

    mutating func check(_ at: String, _ key: String, _ v: Double, _ tol: Double) {
        worst[key] = max(worst[key] ?? 0, v)
        if !(v <= tol) { failures.append("\(at): \(key) \(v) > \(tol)") }
    }
}

public enum GoldenCheck {
    /// Runs every case: source pixels -> input tensor; raw output -> p(person) (K-class: class maps and parts overlay);
    /// upsampling; mask; composite.
    public static func check(_ g: GoldenBundle) throws -> GoldenReport {
        var r = GoldenReport()
        let c = g.contract, m = g.manifest, tol = m.tolerances
        func constant(_ what: String, _ a: Double, _ b: Double) {
            if abs(a - b) > 1e-6 * max(1, abs(a)) { r.failures.append("\(what): toolkit \(a) != core \(b)") }
        }
        constant("threshold", m.effects.threshold, Double(c.threshold))
        constant("feather_radius_fraction", m.effects.feather_radius_fraction, Effects.featherRadiusFraction)
        constant("blur_fraction", m.effects.blur_fraction, Effects.blurFraction)
        constant("temporal_ema_alpha", m.effects.temporal_ema_alpha, Double(Temporal.emaAlpha))
        var palette: [UInt32]? = nil
        if let parts = m.parts {
            constant("parts alpha", parts.alpha, Effects.partsAlpha)
            let own = Effects.palette(c.labels.count)
            if parts.palette.count != own.count {
                r.failures.append("parts palette: expected \(own.count) colours, found \(parts.palette.count)")
            }
            for (i, rgb) in parts.palette.enumerated() where i < own.count && rgb.count == 3 {
                let want = UInt32((rgb[0] << 16) | (rgb[1] << 8) | rgb[2])
                if want != own[i] { r.failures.append("parts palette[\(i)]: toolkit \(want) != core \(own[i])") }
            }
            palette = own
        }
        if (palette != nil) != c.isMultiClass {
            r.failures.append("contract task \(c.taskName) with \(c.labels.count) labels: the core decodes it as "
                              + (c.isMultiClass ? "K-class" : "person") + ", golden/manifest.json parts disagree")
        }
        for k in m.cases {
            let upright = ImageOps.orient(try g.sourceFrame(k), rotationDegrees: k.rotation_degrees, mirror: k.mirror)
            let x = Preprocess.normalize(ImageOps.resize(upright, width: c.width, height: c.height), contract: c)
            let want = try g.floats(k, "input_tensor")
            var maxIn = 0.0, diff = 0
            if m.input_tensor.quantized {
                let q = Preprocess.quantize(x, scale: Float(m.input_tensor.scale ?? 1), zeroPoint: m.input_tensor.zero_point ?? 0,
                                            unsigned: m.input_tensor.dtype == "uint8")
                for i in 0..<q.count {
                    let d = abs(Double(q[i]) - Double(want[i]))
                    maxIn = max(maxIn, d)
                    if d > 0 { diff += 1 }
                }
            } else {
                for i in 0..<x.count {
                    let d = abs(Double(x[i]) - Double(want[i]))
                    maxIn = max(maxIn, d)
                    if d > 1e-6 { diff += 1 }
                }
            }
            r.check(k.name, "input_max_abs", maxIn, tol["input_max_abs"] ?? 0)
            r.check(k.name, "input_mismatch_fraction", Double(diff) / Double(max(x.count, 1)), tol["input_mismatch_fraction"] ?? 0)
            var y = try g.floats(k, "raw_output")
            if m.output_tensor.quantized {
                y = Postprocess.dequantize(y.map { Int($0) }, scale: Float(m.output_tensor.scale ?? 1), zeroPoint: m.output_tensor.zero_point ?? 0)
            }
            var probs: [Float]? = nil
            if palette != nil { probs = try Postprocess.classProbabilities(y, contract: c) }
            let pm = probs.map { Postprocess.foreground($0, height: c.height, width: c.width) }
                ?? Postprocess.personProbability(y, contract: c)
            let goldPm = try g.floats(k, "prob_model")
            r.check(k.name, "prob_model_max_abs", maxAbs(pm, goldPm), tol["prob_model_max_abs"] ?? 0)
            if k.files["class_map"] != nil {
                let cm = Postprocess.classMap(probs ?? y, height: c.height, width: c.width)
                let want = try g.floats(k, "class_map").map { UInt8($0) }
                let key = probs == nil ? "mask_mismatch_fraction" : "class_map_mismatch_fraction"
                r.check(k.name, "class_map_mismatch_fraction", mismatch(cm, want), tol[key] ?? 0)
            }
            if let probs = probs, let palette = palette {
                // K-class: own frame-size class map from own probabilities; parts overlay from the golden map
                let goldCmf = try g.floats(k, "class_map_frame").map { UInt8($0) }
                let cmf = Postprocess.classMap(probs, width: c.width, height: c.height, toWidth: k.width, toHeight: k.height)
                r.check(k.name, "class_map_frame_mismatch_fraction", mismatch(cmf, goldCmf), tol["class_map_frame_mismatch_fraction"] ?? 0)
                let ov = Effects.partsOverlay(upright.argb, classMap: goldCmf, palette: palette)
                let goldOv = try g.uint32s(k, "parts_argb")
                var maxP = 0.0, sumP = 0.0
                for i in 0..<min(ov.count, goldOv.count) {
                    for sh in stride(from: 0, through: 24, by: 8) {
                        let d = abs(Double((ov[i] >> UInt32(sh)) & 255) - Double((goldOv[i] >> UInt32(sh)) & 255))
                        maxP = max(maxP, d)
                        sumP += d
                    }
                }
                if ov.count != goldOv.count { maxP = .infinity }
                r.check(k.name, "parts_max_abs", maxP, tol["parts_max_abs"] ?? 0)
                r.check(k.name, "parts_mean_abs", sumP / Double(max(ov.count, 1) * 4), tol["parts_mean_abs"] ?? 0)
            }
            let goldPf = try g.floats(k, "prob_frame")
            let pf = Postprocess.upsample(goldPm, width: c.width, height: c.height, toWidth: k.width, toHeight: k.height)
            r.check(k.name, "prob_frame_max_abs", maxAbs(pf, goldPf), tol["prob_frame_max_abs"] ?? 0)
            let goldMask = try g.floats(k, "mask").map { UInt8($0) }
            let e2e = Postprocess.mask(Postprocess.upsample(pm, width: c.width, height: c.height, toWidth: k.width, toHeight: k.height),
                                       threshold: c.threshold)
            r.check(k.name, "mask_iou_deficit", 1 - Postprocess.iou(e2e, goldMask), 1 - (tol["mask_min_iou"] ?? 1))
            let mk = Postprocess.mask(goldPf, threshold: c.threshold)
            let bad = zip(mk, goldMask).filter { $0 != $1 }.count
            r.check(k.name, "mask_mismatch_fraction", Double(bad) / Double(max(mk.count, 1)), tol["mask_mismatch_fraction"] ?? 0)
            constant("\(k.name) feather_radius", Double(k.feather_radius),
                     Double(Effects.gaussianRadius(Effects.featherSigma(width: k.width, height: k.height))))
            let comp = Effects.portraitBlur(upright.argb, prob: goldPf, width: k.width, height: k.height, threshold: c.threshold)
            let goldComp = try g.uint32s(k, "composite_argb")
            var maxC = 0.0, sumC = 0.0
            for i in 0..<comp.count {
                for sh in stride(from: 0, through: 24, by: 8) {
                    let d = abs(Double((comp[i] >> UInt32(sh)) & 255) - Double((goldComp[i] >> UInt32(sh)) & 255))
                    maxC = max(maxC, d)
                    sumC += d
                }
            }
            r.check(k.name, "composite_max_abs", maxC, tol["composite_max_abs"] ?? 0)
            r.check(k.name, "composite_mean_abs", sumC / Double(comp.count * 4), tol["composite_mean_abs"] ?? 0)
        }
        if m.cases.isEmpty { r.failures.append("no golden cases") }
        return r
    }

    static func mismatch(_ a: [UInt8], _ b: [UInt8]) -> Double {
        guard a.count == b.count else { return .infinity }
        return Double(zip(a, b).filter { $0 != $1 }.count) / Double(max(a.count, 1))
    }

    static func maxAbs(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count else { return .infinity }
        var m = 0.0
        for i in 0..<a.count { m = max(m, abs(Double(a[i]) - Double(b[i]))) }
        return m
    }
}
