import MobilekitCore
import PhotosUI
import SwiftUI

enum EffectChoice: String, CaseIterable, Identifiable {
    case blur = "Blur"
    case replace = "Replace"
    case overlay = "Overlay"
    case parts = "Parts"
    var id: String { rawValue }
}

func render(_ s: Segmentation, effect: EffectChoice, threshold: Float) -> Frame {
    let f = s.upright
    switch effect {
    case .blur:
        return Frame(argb: Effects.portraitBlur(f.argb, prob: s.prob, width: f.width, height: f.height, threshold: threshold), width: f.width, height: f.height)
    case .replace:
        let bg = (0..<(f.width * f.height)).map { i -> UInt32 in
            let t = UInt32((i / f.width) * 255 / max(1, f.height - 1))
            return 0xFF00_0000 | ((40 + t / 3) << 16) | ((90 + t / 4) << 8) | (200 - t / 2)
        }
        return Frame(argb: Effects.replaceBackground(f.argb, background: bg, prob: s.prob, width: f.width, height: f.height, threshold: threshold),
                     width: f.width, height: f.height)
    case .overlay:
        return Frame(argb: Effects.overlay(f.argb, prob: s.prob, threshold: threshold, color: 0xFFFF_2878, alpha: 0.5), width: f.width, height: f.height)
    case .parts:
        // K-class models: class map at frame size and the toolkit's palette (GOLDEN.md steps 12-13)
        guard let probs = s.classProbs, s.modelWidth * s.modelHeight > 0 else {
            return render(s, effect: .overlay, threshold: threshold)
        }
        let cm = Postprocess.classMap(probs, width: s.modelWidth, height: s.modelHeight, toWidth: f.width, toHeight: f.height)
        let k = probs.count / (s.modelWidth * s.modelHeight)
        return Frame(argb: Effects.partsOverlay(f.argb, classMap: cm, palette: Effects.palette(k)), width: f.width, height: f.height)
    }
}

@MainActor
final class DemoModel: ObservableObject {
    @Published var models: [ModelBundle] = ModelStore.list()
    @Published var selected: ModelBundle?
    @Published var compute: ComputeChoice = .all
    @Published var effect: EffectChoice = .blur
    @Published var front = false
    @Published var smooth = true
    @Published var output: UIImage?
    @Published var stats = ""
    @Published var error: String?
    @Published var report: SelfTestReport?
    private var segmenter: CoreMLSegmenter?
    private let camera = CameraController()
    private var lastFrame = CACurrentMediaTime()
    private var fps = 0.0

    init() {
        selected = models.first
    }

    func load() async {
        guard let b = selected else { return }
        do {
            segmenter = try await CoreMLSegmenter(bundle: b, computeUnits: compute)
            error = nil
        } catch {
            self.error = "\(b.name): \(error)"
        }
    }

    func startCamera() {
        camera.onFrame = { [weak self] frame, rotation, mirror in
            guard let self else { return }
            Task { @MainActor in self.process(frame, rotation: rotation, mirror: mirror, smooth: self.smooth) }
        }
        camera.start(front: front)
    }

    func stopCamera() { camera.stop() }

    func process(_ frame: Frame, rotation: Int, mirror: Bool, smooth: Bool) {
        guard let s = segmenter else { return }
        do {
            let seg = try s.segment(frame, rotationDegrees: rotation, mirror: mirror, smooth: smooth)
            output = render(seg, effect: effect, threshold: s.contract.threshold).uiImage()
            let now = CACurrentMediaTime()
            fps = 0.9 * fps + 0.1 / max(now - lastFrame, 1e-3)
            lastFrame = now
            stats = String(format: "pre %.1f ms · inference %.1f ms · post %.1f ms · %.1f FPS · %@", seg.timings.preMs,
                           seg.timings.inferenceMs, seg.timings.postMs, fps, s.computeUnits.rawValue)
        } catch {
            self.error = "\(error)"
        }
    }

    func selfTest() {
        guard let b = selected, let s = segmenter else { return }
        do {
            report = try SelfTestReport.run(bundle: b, segmenter: s)
        } catch {
            self.error = "self-test: \(error)"
        }
    }
}

struct ContentView: View {
    @StateObject private var model = DemoModel()
    @State private var photo: PhotosPickerItem?
    @State private var showSelfTest = false

    var body: some View {
        VStack(spacing: 8) {
            if model.models.isEmpty {
                Text("No model in Models/. Install one with mobilekit export --target coreml --bundle ios_demo/Models/NAME (see ios_demo/README.md).")
                    .padding()
            } else {
                Picker("Model", selection: $model.selected) {
                    ForEach(model.models) { m in Text(m.name).tag(Optional(m)) }
                }
                Picker("Compute units", selection: $model.compute) {
                    ForEach(ComputeChoice.allCases) { c in Text(c.rawValue).tag(c) }
                }
                .pickerStyle(.segmented)
                Picker("Effect", selection: $model.effect) {
                    ForEach(EffectChoice.allCases) { e in Text(e.rawValue).tag(e) }
                }
                .pickerStyle(.segmented)
                HStack {
                    Toggle("Front camera", isOn: $model.front)
                    Toggle("EMA", isOn: $model.smooth)
                }
                HStack {
                    Button("Camera") { model.startCamera() }
                    PhotosPicker("Photo", selection: $photo, matching: .images)
                    Button("Self-test") {
                        model.stopCamera()
                        model.selfTest()
                        showSelfTest = true
                    }
                    .disabled(!(model.selected?.hasGolden ?? false))
                }
                Text(model.stats).font(.caption).monospacedDigit()
                if let e = model.error { Text(e).foregroundColor(.red).font(.caption) }
                if let img = model.output {
                    Image(uiImage: img).resizable().scaledToFit()
                }
                Spacer()
            }
        }
        .padding()
        .task { await model.load() }
        .onChange(of: model.selected) { _, _ in Task { await model.load() } }
        .onChange(of: model.compute) { _, _ in Task { await model.load() } }
        .onChange(of: model.front) { _, _ in model.startCamera() }
        .onChange(of: photo) { _, item in
            Task {
                guard let item, let data = try? await item.loadTransferable(type: Data.self),
                      let ui = UIImage(data: data), let frame = Frame(image: ui) else { return }
                model.stopCamera()
                model.process(frame, rotation: 0, mirror: false, smooth: false)
            }
        }
        .sheet(isPresented: $showSelfTest) {
            SelfTestView(report: model.report)
        }
    }
}

struct SelfTestView: View {
    let report: SelfTestReport?

    var body: some View {
        if let r = report {
            List {
                Section(header: Text("\(r.model) on \(r.computeUnits.rawValue): \(r.passed ? "PASS" : "FAIL")")) {
                    ForEach(r.cases) { c in
                        Text(String(format: "%@  max |Δp| %.4f  IoU %.4f  %@", c.name, c.maxAbsDp, c.maskIou, c.passed ? "ok" : "DRIFT"))
                            .font(.caption.monospaced())
                    }
                }
                if let advice = r.advice {
                    Text(advice).foregroundColor(.red)
                }
            }
        } else {
            Text("No self-test result")
        }
    }
}
