import CoreML
import CoreVideo
import Foundation
import MobilekitCore
import QuartzCore
import Vision

/// Which Core ML compute units to use (the toggle on screen).
enum ComputeChoice: String, CaseIterable, Identifiable {
    case all = "All"
    case cpuAndGPU = "CPU+GPU"
    case cpuOnly = "CPU only"
    var id: String { rawValue }
    var units: MLComputeUnits {
        switch self {
        case .all: return .all
        case .cpuAndGPU: return .cpuAndGPU
        case .cpuOnly: return .cpuOnly
        }
    }
}

struct Timings {
    var preMs: Double
    var inferenceMs: Double
    var postMs: Double
}

struct Segmentation {
    var upright: Frame
    /// p(person) (K-class models: 1 - p(background)) at the upright frame's size.
    var prob: [Float]
    var timings: Timings
    /// K-class (parsing) models: class probabilities at model size (`modelWidth x modelHeight x K`).
    var classProbs: [Float]? = nil
    var modelWidth = 0
    var modelHeight = 0
}

enum SegmenterError: Error {
    case noOutput(String)
}

/// Core ML through Vision. The `.mlpackage` has an `ImageType` input with the contract's scale and bias built
/// in, so the app hands Vision the upright frame already resized by MobilekitCore (the same resampling as
/// the toolkit) and Vision does not resample again (`scaleFill` at the model's own size).
final class CoreMLSegmenter {
    let contract: Contract
    let computeUnits: ComputeChoice
    private let request: VNCoreMLRequest
    private let temporal = Temporal()

    init(bundle: ModelBundle, computeUnits: ComputeChoice) async throws {
        self.computeUnits = computeUnits
        let config = MLModelConfiguration()
        config.computeUnits = computeUnits.units
        let model = try MLModel(contentsOf: try await bundle.compiledModelURL(), configuration: config)
        contract = try bundle.contract(model: model)
        request = VNCoreMLRequest(model: try VNCoreMLModel(for: model))
        request.imageCropAndScaleOption = .scaleFill
    }

    /// Model output (dequantized, NHWC flattened) for a frame already at the model's size.
    func run(modelSized frame: Frame) throws -> [Float] {
        let buffer = try frame.pixelBuffer()
        let handler = VNImageRequestHandler(cvPixelBuffer: buffer, orientation: .up)
        try handler.perform([request])
        guard let obs = request.results?.first as? VNCoreMLFeatureValueObservation,
              let array = obs.featureValue.multiArrayValue else {
            throw SegmenterError.noOutput("the model returned no multi-array output")
        }
        return array.floats()
    }

    func segment(_ frame: Frame, rotationDegrees: Int, mirror: Bool, smooth: Bool) throws -> Segmentation {
        let t0 = CACurrentMediaTime()
        let upright = ImageOps.orient(frame, rotationDegrees: rotationDegrees, mirror: mirror)
        let small = ImageOps.resize(upright, width: contract.width, height: contract.height)
        let t1 = CACurrentMediaTime()
        let out = try run(modelSized: small)
        let t2 = CACurrentMediaTime()
        var p = try Postprocess.foregroundProbability(out, contract: contract)
        p = Postprocess.upsample(p, width: contract.width, height: contract.height, toWidth: upright.width, toHeight: upright.height)
        if smooth { p = temporal.update(p) } else { temporal.reset() }
        let t3 = CACurrentMediaTime()
        let probs: [Float]? = try contract.isMultiClass ? Postprocess.classProbabilities(out, contract: contract) : nil
        return Segmentation(upright: upright, prob: p, timings: Timings(preMs: (t1 - t0) * 1000, inferenceMs: (t2 - t1) * 1000, postMs: (t3 - t2) * 1000),
                            classProbs: probs, modelWidth: contract.width, modelHeight: contract.height)
    }
}

extension MLMultiArray {
    /// All values as Float in the array's own (row-major, NHWC for mobilekit models) order.
    func floats() -> [Float] {
        var out = [Float](repeating: 0, count: count)
        for i in 0..<count { out[i] = self[i].floatValue }
        return out
    }
}
