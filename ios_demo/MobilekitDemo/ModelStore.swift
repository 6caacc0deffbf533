import CoreML
import Foundation
import MobilekitCore

/// One bundle copied into the app under `Models/<name>/` (a folder reference in the Xcode project):
/// `model.mlpackage` (from `mobilekit export --target coreml --bundle`), optionally `metadata.json` (else the
/// contract embedded in the model's user-defined metadata is used) and `golden/` (from a tflite bundle of the
/// same model). Nothing about a model is compiled into the app.
struct ModelBundle: Identifiable, Hashable {
    let name: String
    let root: URL
    var id: String { name }
    var hasGolden: Bool { FileManager.default.fileExists(atPath: root.appendingPathComponent("golden/manifest.json").path) }

    /// `metadata.json` when the bundle has one, else the contract mobilekit's Core ML export embeds in
    /// `user_defined_metadata["mobilekit"]` of `model`; both present must agree (`Contract.resolve`).
    func contract(model: MLModel? = nil) throws -> Contract {
        let sidecar = try? Data(contentsOf: root.appendingPathComponent("metadata.json"))
        let userDefined = model?.modelDescription.metadata[MLModelMetadataKey.creatorDefinedKey] as? [String: String]
        let embedded = userDefined?["mobilekit"].map { Data($0.utf8) }
        guard let c = try Contract.resolve(sidecar: sidecar, embedded: embedded, sidecarName: "\(name)/metadata.json",
                                           embeddedName: "\(name)/model.mlpackage") else {
            throw ContractError.invalid("\(name): no metadata.json and no contract in the model's user-defined metadata (re-export with mobilekit export --target coreml)")
        }
        return c
    }

    /// The compiled model: `model.mlmodelc` if Xcode compiled it, else `model.mlpackage` compiled on first use.
    func compiledModelURL() async throws -> URL {
        let compiled = root.appendingPathComponent("model.mlmodelc")
        if FileManager.default.fileExists(atPath: compiled.path) { return compiled }
        let cache = FileManager.default.urls(for: .cachesDirectory, in: .userDomainMask)[0].appendingPathComponent("\(name).mlmodelc")
        if FileManager.default.fileExists(atPath: cache.path) { return cache }
        let tmp = try await MLModel.compileModel(at: root.appendingPathComponent("model.mlpackage"))
        try? FileManager.default.removeItem(at: cache)
        try FileManager.default.moveItem(at: tmp, to: cache)
        return cache
    }
}

enum ModelStore {
    static func list() -> [ModelBundle] {
        guard let base = Bundle.main.resourceURL?.appendingPathComponent("Models"),
              let names = try? FileManager.default.contentsOfDirectory(atPath: base.path) else { return [] }
        return names.sorted().compactMap { name in
            let root = base.appendingPathComponent(name)
            let fm = FileManager.default
            let hasModel = fm.fileExists(atPath: root.appendingPathComponent("model.mlpackage").path)
                || fm.fileExists(atPath: root.appendingPathComponent("model.mlmodelc").path)
            guard hasModel else { return nil }  // the contract: metadata.json or the model's own metadata
            return ModelBundle(name: name, root: root)
        }
    }
}
