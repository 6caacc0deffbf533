import Foundation
import MobilekitCore

struct CaseResult: Identifiable {
    let name: String
    let maxAbsDp: Double
    let maskIou: Double
    let passed: Bool
    var id: String { name }
}

/// The bundle's golden cases through MobilekitCore and Core ML on the chosen compute units, against the toolkit's
/// p(person) (computed by LiteRT from the same source model: a cross-runtime comparison, so fp16 tolerances).
struct SelfTestReport {
    let model: String
    let computeUnits: ComputeChoice
    let outputKind: String
    let cases: [CaseResult]
    var passed: Bool { !cases.isEmpty && cases.allSatisfy { $0.passed } }
    var advice: String? {
        if passed { return nil }
        if computeUnits != .cpuOnly && outputKind == "softmax" {
            return "GPU/Neural Engine drift on a softmax head: re-export with `mobilekit export --head sigmoid` (or use CPU only)"
        }
        return "Core ML output differs from the toolkit's: check that golden/ belongs to this model"
    }

    static let maxAbsDp = 0.05
    static let minMaskIou = 0.98

    static func run(bundle: ModelBundle, segmenter: CoreMLSegmenter) throws -> SelfTestReport {
        let golden = try GoldenBundle(root: bundle.root)
        let c = segmenter.contract
        var results: [CaseResult] = []
        for k in golden.manifest.cases {
            let upright = ImageOps.orient(try golden.sourceFrame(k), rotationDegrees: k.rotation_degrees, mirror: k.mirror)
            let out = try segmenter.run(modelSized: ImageOps.resize(upright, width: c.width, height: c.height))
            let p = try Postprocess.foregroundProbability(out, contract: c)
            let want = try golden.floats(k, "prob_model")
            var m = 0.0
            for i in 0..<min(p.count, want.count) { m = max(m, abs(Double(p[i]) - Double(want[i]))) }
            let iou = Postprocess.iou(Postprocess.mask(p, threshold: c.threshold), Postprocess.mask(want, threshold: c.threshold))
            results.append(CaseResult(name: k.name, maxAbsDp: m, maskIou: iou, passed: m <= maxAbsDp && iou >= minMaskIou))
        }
        return SelfTestReport(model: bundle.name, computeUnits: segmenter.computeUnits, outputKind: c.kind, cases: results)
    }
}
