import Foundation

/// Frame to input tensor and raw output to p(person) or K class maps, following the `Contract` (GOLDEN.md steps 5-9, 12).
public enum Preprocess {
    /// Orient, resize and normalise: NHWC float32, `x = pixel * scale[c] + offset[c]`.
    public static func toInput(_ frame: Frame, rotationDegrees: Int, mirror: Bool, contract c: Contract) -> [Float] {
        let up = ImageOps.orient(frame, rotationDegrees: rotationDegrees, mirror: mirror)
        return normalize(ImageOps.resize(up, width: c.width, height: c.height), contract: c)
    }

    public static func normalize(_ f: Frame, contract c: Contract) -> [Float] {
        precondition(f.width == c.width && f.height == c.height, "normalize: expected a \(c.width)x\(c.height) frame")
        let n = f.width * f.height
        let sc = c.scale, of = c.offset
        var x = [Float](repeating: 0, count: n * c.channels)
        let bgr = c.channelOrder == "BGR"
        for i in 0..<n {
            let p = f.argb[i]
            if c.channels == 1 {
                x[i] = Float(ImageOps.luma(p)) * sc[0] + of[0]
                continue
            }
            let r = Float((p >> 16) & 255), g = Float((p >> 8) & 255), b = Float(p & 255)
            x[3 * i] = (bgr ? b : r) * sc[0] + of[0]
            x[3 * i + 1] = g * sc[1] + of[1]
            x[3 * i + 2] = (bgr ? r : b) * sc[2] + of[2]
        }
        return x
    }

    /// `q = clamp(floor(x / scale + 0.5) + zeroPoint)` as integer values (0..255 or -128..127).
    public static func quantize(_ x: [Float], scale: Float, zeroPoint: Int, unsigned: Bool) -> [Int] {
        let lo = unsigned ? 0 : -128, hi = unsigned ? 255 : 127
        return x.map { v in
            let q = Int((Double(v) / Double(scale) + 0.5).rounded(.down)) + zeroPoint
            return max(lo, min(hi, q))
        }
    }
}

public enum Postprocess {
    public static func dequantize(_ q: [Int], scale: Float, zeroPoint: Int) -> [Float] {
        return q.map { Float($0 - zeroPoint) * scale }
    }

    /// p(person) at model size from one dequantized NHWC output.
    public static func personProbability(_ out: [Float], contract c: Contract) -> [Float] {
        let n = c.height * c.width
        precondition(out.count % n == 0, "output: expected a multiple of \(n) values, found \(out.count)")
        let ch = out.count / n
        if ch == 1 {
            if c.kind == "logits" { return out.map { Float(1.0 / (1.0 + exp(-Double($0)))) } }
            return out
        }
        let k = c.personIndex
        var p = [Float](repeating: 0, count: n)
        if c.kind != "logits" {
            for i in 0..<n { p[i] = out[i * ch + k] }
            return p
        }
        for i in 0..<n {
            var m = -Float.infinity
            for j in 0..<ch { m = max(m, out[i * ch + j]) }
            var sum = 0.0, mine = 0.0
            for j in 0..<ch {
                let e = exp(Double(out[i * ch + j] - m))
                sum += e
                if j == k { mine = e }
            }
            p[i] = Float(mine / sum)
        }
        return p
    }

    /// Class probabilities at model size (`h x w x K`, channel-last) of a K-class (parsing) output: softmax as is,
    /// logits through a softmax over the channels; a sigmoid head is refused for K > 2 (GOLDEN.md step 12).
    public static func classProbabilities(_ out: [Float], contract c: Contract) throws -> [Float] {
        let n = c.height * c.width
        guard n > 0, out.count % n == 0 else {
            throw ContractError.invalid("output: expected a multiple of \(n) values, found \(out.count)")
        }
        let ch = out.count / n
        if c.kind == "sigmoid" && ch > 2 {
            throw ContractError.invalid("contract output kind: sigmoid cannot encode \(ch) exclusive classes; expected softmax or logits")
        }
        if c.kind != "logits" { return out }
        var p = [Float](repeating: 0, count: out.count)
        for i in 0..<n {
            var m = -Float.infinity
            for j in 0..<ch { m = max(m, out[i * ch + j]) }
            var sum = 0.0
            for j in 0..<ch { sum += exp(Double(out[i * ch + j] - m)) }
            for j in 0..<ch { p[i * ch + j] = Float(exp(Double(out[i * ch + j] - m)) / sum) }
        }
        return p
    }

    /// The probability the portrait effects use at model size: p(person), or `1 - p(class 0)` for a K-class model.
    public static func foregroundProbability(_ out: [Float], contract c: Contract) throws -> [Float] {
        if c.isMultiClass { return foreground(try classProbabilities(out, contract: c), height: c.height, width: c.width) }
        return personProbability(out, contract: c)
    }

    /// Foreground of a K-class model, `1 - p(class 0)` per pixel (the person for portrait effects).
    public static func foreground(_ probs: [Float], height: Int, width: Int) -> [Float] {
        let n = height * width, ch = probs.count / max(n, 1)
        return (0..<n).map { 1 - probs[$0 * ch] }
    }

    /// Class map at `toWidth x toHeight`: every class channel upsampled with `upsample`, then argmax (lowest index on ties).
    public static func classMap(_ probs: [Float], width w: Int, height h: Int, toWidth dw: Int, toHeight dh: Int) -> [UInt8] {
        let n = w * h, ch = probs.count / max(n, 1)
        var best = [Float](repeating: -Float.infinity, count: dw * dh)
        var m = [UInt8](repeating: 0, count: dw * dh)
        for j in 0..<ch {
            let plane = (0..<n).map { probs[$0 * ch + j] }
            let up = upsample(plane, width: w, height: h, toWidth: dw, toHeight: dh)
            for i in 0..<up.count where up[i] > best[i] {
                best[i] = up[i]
                m[i] = UInt8(j)
            }
        }
        return m
    }

    /// Argmax over channels (lowest index on ties).
    public static func classMap(_ out: [Float], height: Int, width: Int) -> [UInt8] {
        let n = height * width, ch = out.count / n
        var m = [UInt8](repeating: 0, count: n)
        for i in 0..<n {
            var best = 0
            for j in 1..<max(ch, 1) where out[i * ch + j] > out[i * ch + best] { best = j }
            m[i] = UInt8(best)
        }
        return m
    }

    /// Bilinear, half-pixel centres, edge clamp, Float.
    public static func upsample(_ p: [Float], width w: Int, height h: Int, toWidth dw: Int, toHeight dh: Int) -> [Float] {
        if w == dw && h == dh { return p }
        let (x0, x1, fx) = ImageOps.taps(src: w, dst: dw)
        let (y0, y1, fy) = ImageOps.taps(src: h, dst: dh)
        var out = [Float](repeating: 0, count: dw * dh)
        for y in 0..<dh {
            let r0 = y0[y] * w, r1 = y1[y] * w
            let wy = Float(fy[y])
            for x in 0..<dw {
                let wx = Float(fx[x])
                let top = p[r0 + x0[x]] * (1 - wx) + p[r0 + x1[x]] * wx
                let bot = p[r1 + x0[x]] * (1 - wx) + p[r1 + x1[x]] * wx
                out[y * dw + x] = top * (1 - wy) + bot * wy
            }
        }
        return out
    }

    public static func mask(_ p: [Float], threshold: Float) -> [UInt8] {
        return p.map { $0 > threshold ? 255 : 0 }
    }

    public static func iou(_ a: [UInt8], _ b: [UInt8]) -> Double {
        var inter = 0, union = 0
        for i in 0..<a.count {
            let x = a[i] != 0, y = b[i] != 0
            if x && y { inter += 1 }
            if x || y { union += 1 }
        }
        return union == 0 ? 1.0 : Double(inter) / Double(union)
    }
}

/// EMA of p(person) across frames; `emaAlpha` equals mobilekit's `EMA_ALPHA` (checked by the golden tests).
public final class Temporal {
    public static let emaAlpha: Float = 0.5
    private let alpha: Float
    private var state: [Float]?

    public init(alpha: Float = Temporal.emaAlpha) {
        precondition(alpha > 0 && alpha <= 1, "EMA alpha: expected a value in (0, 1], found \(alpha)")
        self.alpha = alpha
    }

    public func update(_ p: [Float]) -> [Float] {
        guard var s = state, s.count == p.count else {
            state = p
            return p
        }
        for i in 0..<p.count { s[i] = alpha * p[i] + (1 - alpha) * s[i] }
        state = s
        return s
    }

    public func reset() { state = nil }
}
