import Foundation

/// Portrait-mode effects on ARGB, equal to mobilekit's `mobile_kit.effects.portrait` (GOLDEN.md step 10).
public enum Effects {
    public static let featherRadiusFraction = 0.004, featherMinSigma = 0.8
    public static let blurFraction = 0.02, blurMinSigma = 1.0
    public static let blurWeightEps: Float = 1e-3

    /// Opacity of the parts colour overlay (mobile_kit.effects.parts.parts_overlay, `predict --effect parts`).
    public static let partsAlpha = 0.55

    /// Colour of each of `k` classes, `0xRRGGBB`: class 0 black, then the PASCAL VOC bit-interleaved palette.
    public static func palette(_ k: Int) -> [UInt32] {
        return (0..<k).map { i -> UInt32 in
            var c = i, r = 0, g = 0, b = 0
            for j in 0..<8 {
                r |= ((c >> 0) & 1) << (7 - j)
                g |= ((c >> 1) & 1) << (7 - j)
                b |= ((c >> 2) & 1) << (7 - j)
                c >>= 3
            }
            return UInt32((r << 16) | (g << 8) | b)
        }
    }

    /// Parts overlay without legend (GOLDEN.md step 13): where `classMap[i] > 0` every channel becomes
    /// `trunc(min(255, Float(px) * Float(1 - alpha) + Float(colour) * Float(alpha)))`; class 0 unchanged; alpha 0xFF.
    public static func partsOverlay(_ argb: [UInt32], classMap: [UInt8], palette: [UInt32], alpha: Double = Effects.partsAlpha) -> [UInt32] {
        let a = Float(alpha), na = Float(1.0 - alpha)
        var out = [UInt32](repeating: 0, count: argb.count)
        for i in 0..<argb.count {
            let cls = Int(classMap[i]), px = argb[i]
            if cls == 0 || cls >= palette.count {
                out[i] = 0xFF00_0000 | (px & 0xFF_FFFF)
                continue
            }
            let col = palette[cls]
            var v: UInt32 = 0xFF00_0000
            for sh in stride(from: 16, through: 0, by: -8) {
                let f = Float((px >> UInt32(sh)) & 255) * na + Float((col >> UInt32(sh)) & 255) * a
                v |= UInt32(min(255, Int(f))) << UInt32(sh)
            }
            out[i] = v
        }
        return out
    }

    public static func featherSigma(width: Int, height: Int) -> Double {
        return max(featherMinSigma, featherRadiusFraction * Double(width * width + height * height).squareRoot())
    }

    public static func blurSigma(width: Int, height: Int) -> Double {
        return max(blurMinSigma, blurFraction * Double(max(width, height)))
    }

    public static func gaussianRadius(_ sigma: Double) -> Int {
        return (Int((sigma * 8 + 1).rounded(.toNearestOrEven)) | 1) / 2
    }

    public static func gaussianKernel(_ sigma: Double) -> [Float] {
        let r = gaussianRadius(sigma)
        var k = [Float](repeating: 0, count: 2 * r + 1)
        var sum = 0.0
        for i in 0..<k.count {
            let x = Double(i - r)
            k[i] = Float(exp(-0.5 / (sigma * sigma) * x * x))
            sum += Double(k[i])
        }
        return k.map { Float(Double($0) / sum) }
    }

    static func reflect101(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        var j = i
        while j < 0 || j >= n { j = j < 0 ? -j : 2 * n - 2 - j }
        return j
    }

    /// Separable Gaussian blur (rows, then columns), BORDER_REFLECT_101.
    public static func gaussianBlur(_ src: [Float], width w: Int, height h: Int, sigma: Double) -> [Float] {
        let k = gaussianKernel(sigma)
        let r = k.count / 2
        let xi = (0..<(w + 2 * r)).map { reflect101($0 - r, w) }
        let yi = (0..<(h + 2 * r)).map { reflect101($0 - r, h) }
        var tmp = [Float](repeating: 0, count: w * h)
        var out = tmp
        for y in 0..<h {
            let row = y * w
            for x in 0..<w {
                var s = 0.0
                for j in 0..<k.count { s += Double(k[j]) * Double(src[row + xi[x + j]]) }
                tmp[row + x] = Float(s)
            }
        }
        for y in 0..<h {
            for x in 0..<w {
                var s = 0.0
                for j in 0..<k.count { s += Double(k[j]) * Double(tmp[yi[y + j] * w + x]) }
                out[y * w + x] = Float(s)
            }
        }
        return out
    }

    public static func feather(_ prob: [Float], width w: Int, height h: Int, threshold: Float) -> [Float] {
        let hard = prob.map { $0 > threshold ? Float(1) : Float(0) }
        return gaussianBlur(hard, width: w, height: h, sigma: featherSigma(width: w, height: h))
    }

    static func round255(_ v: Float) -> UInt32 {
        let c = min(max(v + 0.5, 0), 255)
        return UInt32(c.rounded(.down))
    }

    /// Background blurred by normalized convolution, person sharp, feathered edge.
    public static func portraitBlur(_ argb: [UInt32], prob: [Float], width w: Int, height h: Int, threshold: Float) -> [UInt32] {
        let a = feather(prob, width: w, height: h, threshold: threshold)
        let bg = prob.map { $0 > threshold ? Float(0) : Float(1) }
        let sigma = blurSigma(width: w, height: h)
        let den = gaussianBlur(bg, width: w, height: h, sigma: sigma)
        var out = [UInt32](repeating: 0xFF00_0000, count: w * h)
        for sh in stride(from: 16, through: 0, by: -8) {
            let img = argb.map { Float(($0 >> UInt32(sh)) & 255) }
            var weighted = img
            for i in 0..<img.count { weighted[i] = img[i] * bg[i] }
            let num = gaussianBlur(weighted, width: w, height: h, sigma: sigma)
            var wide: [Float]? = nil
            for i in 0..<img.count {
                var blurred: Float
                if den[i] > blurWeightEps {
                    blurred = num[i] / max(den[i], blurWeightEps)
                } else {
                    if wide == nil { wide = gaussianBlur(img, width: w, height: h, sigma: sigma) }
                    blurred = wide![i]
                }
                out[i] |= round255(a[i] * img[i] + (1 - a[i]) * blurred) << UInt32(sh)
            }
        }
        return out
    }

    /// Background replacement with the feathered matte.
    public static func replaceBackground(_ argb: [UInt32], background: [UInt32], prob: [Float], width w: Int, height h: Int,
                                         threshold: Float) -> [UInt32] {
        let a = feather(prob, width: w, height: h, threshold: threshold)
        var out = [UInt32](repeating: 0, count: w * h)
        for i in 0..<out.count {
            var v: UInt32 = 0xFF00_0000
            for sh in stride(from: 16, through: 0, by: -8) {
                let f = Float((argb[i] >> UInt32(sh)) & 255), b = Float((background[i] >> UInt32(sh)) & 255)
                v |= round255(a[i] * f + (1 - a[i]) * b) << UInt32(sh)
            }
            out[i] = v
        }
        return out
    }

    /// Person pixels tinted towards `color` by `alpha`.
    public static func overlay(_ argb: [UInt32], prob: [Float], threshold: Float, color: UInt32, alpha: Float) -> [UInt32] {
        var out = argb
        for i in 0..<argb.count where prob[i] > threshold {
            var v: UInt32 = 0xFF00_0000
            for sh in stride(from: 16, through: 0, by: -8) {
                let f = Float((argb[i] >> UInt32(sh)) & 255), c = Float((color >> UInt32(sh)) & 255)
                v |= (UInt32(f * (1 - alpha) + c * alpha) & 255) << UInt32(sh)
            }
            out[i] = v
        }
        return out
    }
}
