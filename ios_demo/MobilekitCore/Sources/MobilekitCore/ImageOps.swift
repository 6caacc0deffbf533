import Foundation

/// An image as ARGB `UInt32` pixels (`0xAARRGGBB`, row-major), the layout of Android's `Bitmap.getPixels`
/// and of the golden vectors.
public struct Frame: Equatable {
    public var argb: [UInt32]
    public var width: Int
    public var height: Int

    public init(argb: [UInt32], width: Int, height: Int) {
        precondition(argb.count == width * height, "frame: expected \(width * height) pixels, found \(argb.count)")
        self.argb = argb
        self.width = width
        self.height = height
    }
}

/// Orientation and resizing pinned to mobilekit's Python pipeline (android_demo/GOLDEN.md, steps 2-4).
public enum ImageOps {
    /// Rotate clockwise by `rotationDegrees` (0/90/180/270), then mirror left-right if `mirror`.
    public static func orient(_ f: Frame, rotationDegrees: Int, mirror: Bool) -> Frame {
        let r = ((rotationDegrees % 360) + 360) % 360
        precondition(r % 90 == 0, "rotation_degrees: expected 0, 90, 180 or 270, found \(rotationDegrees)")
        let w = f.width, h = f.height
        let ow = (r == 90 || r == 270) ? h : w
        let oh = (r == 90 || r == 270) ? w : h
        var out = [UInt32](repeating: 0, count: ow * oh)
        for y in 0..<oh {
            for x in 0..<ow {
                let xo = mirror ? ow - 1 - x : x
                var sx = xo
                var sy = y
                switch r {
                case 90: sx = y; sy = h - 1 - xo
                case 180: sx = w - 1 - xo; sy = h - 1 - y
                case 270: sx = w - 1 - y; sy = xo
                default: break
                }
                out[y * ow + x] = f.argb[sy * w + sx]
            }
        }
        return Frame(argb: out, width: ow, height: oh)
    }

    public static func usesArea(srcW: Int, srcH: Int, dstW: Int, dstH: Int) -> Bool {
        return srcH > dstH && srcW > dstW
    }

    /// Area averaging when shrinking in both dimensions, else OpenCV's fixed-point bilinear.
    public static func resize(_ f: Frame, width: Int, height: Int) -> Frame {
        if f.width == width && f.height == height { return f }
        return usesArea(srcW: f.width, srcH: f.height, dstW: width, dstH: height)
            ? resizeArea(f, width: width, height: height) : resizeBilinear(f, width: width, height: height)
    }

    static func round255(_ v: Double) -> UInt32 {
        let r = Int((v + 0.5).rounded(.down))
        return UInt32(max(0, min(255, r)))
    }

    /// OpenCV `INTER_LINEAR` on uint8 (11-bit fixed point); see GOLDEN.md step 3.
    public static func resizeBilinear(_ f: Frame, width dstW: Int, height dstH: Int) -> Frame {
        let (x0, x1, ax) = fixedTaps(src: f.width, dst: dstW, clampWeights: true)
        let (y0, y1, by) = fixedTaps(src: f.height, dst: dstH, clampWeights: false)
        var out = [UInt32](repeating: 0, count: dstW * dstH)
        var row0 = [Int](repeating: 0, count: dstW * 3)
        var row1 = [Int](repeating: 0, count: dstW * 3)
        func hrow(_ off: Int, _ row: inout [Int]) {
            for x in 0..<dstW {
                let p = f.argb[off + x0[x]], q = f.argb[off + x1[x]]
                let a0 = ax[x], a1 = 2048 - ax[x]
                for c in 0..<3 {
                    let sh = UInt32(16 - 8 * c)
                    row[3 * x + c] = Int((p >> sh) & 255) * a0 + Int((q >> sh) & 255) * a1
                }
            }
        }
        for y in 0..<dstH {
            hrow(y0[y] * f.width, &row0)
            hrow(y1[y] * f.width, &row1)
            let b0 = by[y], b1 = 2048 - by[y]
            for x in 0..<dstW {
                var rgb: UInt32 = 0xFF00_0000
                for c in 0..<3 {
                    let v = (((b0 * (row0[3 * x + c] >> 4)) >> 16) + ((b1 * (row1[3 * x + c] >> 4)) >> 16) + 2) >> 2
                    rgb |= UInt32(max(0, min(255, v))) << UInt32(16 - 8 * c)
                }
                out[y * dstW + x] = rgb
            }
        }
        return Frame(argb: out, width: dstW, height: dstH)
    }

    static func fixedTaps(src: Int, dst: Int, clampWeights: Bool) -> ([Int], [Int], [Int]) {
        let scale = 1.0 / (Double(dst) / Double(src))
        var i0 = [Int](repeating: 0, count: dst), i1 = i0, a0 = i0
        for d in 0..<dst {
            var fx = Float((Double(d) + 0.5) * scale - 0.5)
            var s0 = Int(fx.rounded(.down))
            fx -= Float(s0)
            if clampWeights && s0 < 0 { s0 = 0; fx = 0 }
            if clampWeights && s0 >= src - 1 { s0 = src - 1; fx = 0 }
            i0[d] = max(0, min(s0, src - 1))
            i1[d] = max(0, min(s0 + 1, src - 1))
            a0[d] = Int(((1 - fx) * 2048).rounded(.toNearestOrEven))
        }
        return (i0, i1, a0)
    }

    /// Float bilinear taps (half-pixel centres, edge clamp) for probability maps.
    static func taps(src: Int, dst: Int) -> ([Int], [Int], [Double]) {
        let scale = 1.0 / (Double(dst) / Double(src))
        var i0 = [Int](repeating: 0, count: dst), i1 = i0
        var fr = [Double](repeating: 0, count: dst)
        for d in 0..<dst {
            let c = (Double(d) + 0.5) * scale - 0.5
            var s0 = Int(c.rounded(.down))
            var t = c - Double(s0)
            if s0 < 0 { s0 = 0; t = 0 }
            if s0 >= src - 1 { s0 = src - 1; t = 0 }
            i0[d] = s0
            i1[d] = min(s0 + 1, src - 1)
            fr[d] = t
        }
        return (i0, i1, fr)
    }

    /// Per output index: first source index and coverage weights (OpenCV computeResizeAreaTab).
    static func areaWeights(src: Int, dst: Int) -> [(Int, [Double])] {
        let scale = 1.0 / (Double(dst) / Double(src))
        var tab: [(Int, [Double])] = []
        for d in 0..<dst {
            let f1 = Double(d) * scale, f2 = f1 + scale
            let cell = min(scale, Double(src) - f1)
            var s1 = Int(f1.rounded(.up))
            var s2 = Int(f2.rounded(.down))
            s2 = min(s2, src - 1)
            s1 = min(s1, s2)
            var w: [Double] = []
            var first = s1
            if Double(s1) - f1 > 1e-3 {
                first = s1 - 1
                w.append((Double(s1) - f1) / cell)
            }
            if s1 < s2 {
                for _ in s1..<s2 { w.append(1.0 / cell) }
            }
            if f2 - Double(s2) > 1e-3 { w.append(min(min(f2 - Double(s2), 1.0), cell) / cell) }
            tab.append((first, w))
        }
        return tab
    }

    /// OpenCV `INTER_AREA` when shrinking: coverage-weighted mean, `floor(v + 0.5)`.
    public static func resizeArea(_ f: Frame, width dstW: Int, height dstH: Int) -> Frame {
        let wx = areaWeights(src: f.width, dst: dstW)
        let wy = areaWeights(src: f.height, dst: dstH)
        var out = [UInt32](repeating: 0, count: dstW * dstH)
        for y in 0..<dstH {
            let (ys, wys) = wy[y]
            for x in 0..<dstW {
                let (xs, wxs) = wx[x]
                var r = 0.0, g = 0.0, b = 0.0
                for (j, a) in wys.enumerated() {
                    let row = (ys + j) * f.width
                    for (i, bw) in wxs.enumerated() {
                        let p = f.argb[row + xs + i]
                        let w = a * bw
                        r += Double((p >> 16) & 255) * w
                        g += Double((p >> 8) & 255) * w
                        b += Double(p & 255) * w
                    }
                }
                out[y * dstW + x] = 0xFF00_0000 | (round255(r) << 16) | (round255(g) << 8) | round255(b)
            }
        }
        return Frame(argb: out, width: dstW, height: dstH)
    }

    /// ITU-R 601 luma as OpenCV computes it for uint8.
    public static func luma(_ p: UInt32) -> Int {
        return (4899 * Int((p >> 16) & 255) + 9617 * Int((p >> 8) & 255) + 1868 * Int(p & 255) + 8192) >> 14
    }
}
