import AVFoundation
import Foundation
import MobilekitCore
import UIKit

/// AVFoundation camera: front or back, BGRA frames in sensor orientation plus the clockwise rotation that makes
/// them upright for the current device orientation, and mirroring for the front camera. Late frames are dropped
/// (`alwaysDiscardsLateVideoFrames`, the equivalent of CameraX keep-only-latest).
final class CameraController: NSObject, AVCaptureVideoDataOutputSampleBufferDelegate {
    let session = AVCaptureSession()
    private let output = AVCaptureVideoDataOutput()
    private let queue = DispatchQueue(label: "camera.frames")
    private(set) var front = false
    /// Called on the camera queue with (frame, rotationDegrees, mirror).
    var onFrame: ((Frame, Int, Bool) -> Void)?

    func start(front: Bool) {
        queue.async { [weak self] in self?.configure(front: front) }
    }

    func stop() {
        queue.async { [weak self] in self?.session.stopRunning() }
    }

    private func configure(front: Bool) {
        self.front = front
        session.beginConfiguration()
        session.sessionPreset = .hd1280x720
        session.inputs.forEach { session.removeInput($0) }
        let position: AVCaptureDevice.Position = front ? .front : .back
        if let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: position),
           let input = try? AVCaptureDeviceInput(device: device), session.canAddInput(input) {
            session.addInput(input)
        }
        if session.outputs.isEmpty, session.canAddOutput(output) {
            output.videoSettings = [kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_32BGRA]
            output.alwaysDiscardsLateVideoFrames = true
            output.setSampleBufferDelegate(self, queue: queue)
            session.addOutput(output)
        }
        session.commitConfiguration()
        if !session.isRunning { session.startRunning() }
    }

    /// Clockwise rotation (degrees) that turns the sensor buffer upright for the current interface orientation.
    /// Both iPhone cameras deliver landscape buffers; the back sensor needs 90 degrees in portrait, the front
    /// sensor 90 as well before the mirror flip (the same convention as CameraX rotationDegrees).
    static func rotationDegrees(front: Bool, orientation: UIDeviceOrientation) -> Int {
        switch orientation {
        case .landscapeLeft: return front ? 180 : 0
        case .landscapeRight: return front ? 0 : 180
        case .portraitUpsideDown: return 270
        default: return 90
        }
    }

    func captureOutput(_ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection) {
        guard let pb = CMSampleBufferGetImageBuffer(sampleBuffer) else { return }
        let frame = Frame(bgraBuffer: pb)
        let rotation = CameraController.rotationDegrees(front: front, orientation: UIDevice.current.orientation)
        onFrame?(frame, rotation, front)
    }
}
