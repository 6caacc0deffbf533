package com.mobilekit.core;

/**
 * Orientation and resizing on ARGB frames, pinned to what mobilekit's Python pipeline computes
 * (OpenCV {@code INTER_AREA} / {@code INTER_LINEAR}; see android_demo/GOLDEN.md).
 */
public final class ImageOps {
    private ImageOps() {}

    /**
     * Stored camera frame to upright image: rotate clockwise by {@code rotationDegrees} (0/90/180/270, CameraX's
     * {@code ImageInfo.getRotationDegrees()}), then flip left-right if {@code mirror} (front camera).
     */
    public static Frame orient(Frame f, int rotationDegrees, boolean mirror) {
        int w = f.width, h = f.height;
        int r = ((rotationDegrees % 360) + 360) % 360;
        if (r % 90 != 0) throw new IllegalArgumentException("rotation_degrees: expected 0, 90, 180 or 270, found " + rotationDegrees);
        int ow = (r == 90 || r == 270) ? h : w, oh = (r == 90 || r == 270) ? w : h;
        int[] out = new int[ow * oh];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int xo = mirror ? ow - 1 - x : x; // mirror applies to the upright image
                int sx, sy;
                switch (r) {
                    case 90: sx = y; sy = h - 1 - xo; break;      // clockwise: upright (x,y) <- source (y, h-1-x)
                    case 180: sx = w - 1 - xo; sy = h - 1 - y; break;
                    case 270: sx = w - 1 - y; sy = xo; break;
                    default: sx = xo; sy = y;
                }
                out[y * ow + x] = f.argb[sy * w + sx];
            }
        }
        return new Frame(out, ow, oh);
    }

    /** Whether the pinned resize uses area averaging (frame larger than the model in both dimensions). */
    public static boolean usesArea(int srcW, int srcH, int dstW, int dstH) {
        return srcH > dstH && srcW > dstW;
    }

    /** Resize to {@code dstW x dstH}: area averaging if shrinking in both dimensions, else bilinear (half-pixel, edge clamp). */
    public static Frame resize(Frame f, int dstW, int dstH) {
        if (f.width == dstW && f.height == dstH) return f;
        return usesArea(f.width, f.height, dstW, dstH) ? resizeArea(f, dstW, dstH) : resizeBilinear(f, dstW, dstH);
    }

    static int round255(double v) {
        int r = (int) Math.floor(v + 0.5);
        return r < 0 ? 0 : (r > 255 ? 255 : r);
    }

    /**
     * Bilinear, half-pixel centres ({@code src = (dst + 0.5) * S / D - 0.5}), clamped to the edge, in OpenCV's
     * fixed point for uint8 ({@code INTER_LINEAR}, bit-exact with {@code cv2.resize} on x86):
     * weights {@code a0 = rint((1 - f) * 2048)}, {@code a1 = 2048 - a0} with {@code f} in float32;
     * rows {@code r = S[x0] * a0 + S[x1] * a1}; columns
     * {@code (((b0 * (r0 >> 4)) >> 16) + ((b1 * (r1 >> 4)) >> 16) + 2) >> 2}, where the vertical weights are
     * not clamped at the edges (only the row indices are).
     */
    public static Frame resizeBilinear(Frame f, int dstW, int dstH) {
        int[] x0 = new int[dstW], x1 = new int[dstW], ax = new int[dstW];
        fixedTaps(f.width, dstW, true, x0, x1, ax);
        int[] y0 = new int[dstH], y1 = new int[dstH], by = new int[dstH];
        fixedTaps(f.height, dstH, false, y0, y1, by);
        int[] out = new int[dstW * dstH];
        int[] s = f.argb;
        int[] row0 = new int[dstW * 3], row1 = new int[dstW * 3];
        for (int y = 0; y < dstH; y++) {
            hrow(s, y0[y] * f.width, x0, x1, ax, row0);
            hrow(s, y1[y] * f.width, x0, x1, ax, row1);
            int b0 = by[y], b1 = 2048 - b0;
            for (int x = 0; x < dstW; x++) {
                int rgb = 0xFF000000;
                for (int c = 0; c < 3; c++) {
                    int v = (((b0 * (row0[3 * x + c] >> 4)) >> 16) + ((b1 * (row1[3 * x + c] >> 4)) >> 16) + 2) >> 2;
                    rgb |= (v < 0 ? 0 : (v > 255 ? 255 : v)) << (16 - 8 * c);
                }
                out[y * dstW + x] = rgb;
            }
        }
        return new Frame(out, dstW, dstH);
    }

    private static void hrow(int[] s, int off, int[] x0, int[] x1, int[] ax, int[] row) {
        for (int x = 0; x < x0.length; x++) {
            int p = s[off + x0[x]], q = s[off + x1[x]], a0 = ax[x], a1 = 2048 - a0;
            row[3 * x] = ((p >> 16) & 255) * a0 + ((q >> 16) & 255) * a1;
            row[3 * x + 1] = ((p >> 8) & 255) * a0 + ((q >> 8) & 255) * a1;
            row[3 * x + 2] = (p & 255) * a0 + (q & 255) * a1;
        }
    }

    /** Fixed-point taps (weight of the first tap, in 1/2048) as OpenCV computes them; see {@link #resizeBilinear}. */
    static void fixedTaps(int src, int dst, boolean clampWeights, int[] i0, int[] i1, int[] a0) {
        double scale = 1.0 / ((double) dst / src);
        for (int d = 0; d < dst; d++) {
            float fx = (float) ((d + 0.5) * scale - 0.5);
            int s0 = (int) Math.floor(fx);
            fx -= s0;
            if (clampWeights && s0 < 0) {
                s0 = 0;
                fx = 0;
            }
            if (clampWeights && s0 >= src - 1) {
                s0 = src - 1;
                fx = 0;
            }
            i0[d] = Math.max(0, Math.min(s0, src - 1));
            i1[d] = Math.max(0, Math.min(s0 + 1, src - 1));
            a0[d] = (int) Math.rint((1f - fx) * 2048f);
        }
    }

    /** Bilinear source taps and weights for one axis: half-pixel centres, edge clamp (OpenCV INTER_LINEAR). */
    static void taps(int src, int dst, int[] i0, int[] i1, double[] frac) {
        double scale = 1.0 / ((double) dst / src);
        for (int d = 0; d < dst; d++) {
            double c = (d + 0.5) * scale - 0.5;
            int s0 = (int) Math.floor(c);
            double t = c - s0;
            if (s0 < 0) {
                s0 = 0;
                t = 0;
            }
            if (s0 >= src - 1) {
                s0 = src - 1;
                t = 0;
            }
            i0[d] = s0;
            i1[d] = Math.min(s0 + 1, src - 1);
            frac[d] = t;
        }
    }

    /**
     * Area averaging (OpenCV INTER_AREA when shrinking): output pixel {@code (x, y)} is the mean of the source
     * rectangle {@code [x*sx, (x+1)*sx) x [y*sy, (y+1)*sy)}, partially covered pixels weighted by coverage.
     */
    public static Frame resizeArea(Frame f, int dstW, int dstH) {
        double[][] wx = areaWeights(f.width, dstW);
        double[][] wy = areaWeights(f.height, dstH);
        int[] out = new int[dstW * dstH];
        double[] acc = new double[3];
        for (int y = 0; y < dstH; y++) {
            int ys = (int) wy[y][0];
            for (int x = 0; x < dstW; x++) {
                int xs = (int) wx[x][0];
                acc[0] = acc[1] = acc[2] = 0;
                for (int j = 1; j < wy[y].length; j++) {
                    int row = (ys + j - 1) * f.width;
                    double a = wy[y][j];
                    for (int i = 1; i < wx[x].length; i++) {
                        int p = f.argb[row + xs + i - 1];
                        double w = a * wx[x][i];
                        acc[0] += ((p >> 16) & 255) * w;
                        acc[1] += ((p >> 8) & 255) * w;
                        acc[2] += (p & 255) * w;
                    }
                }
                out[y * dstW + x] = 0xFF000000 | (round255(acc[0]) << 16) | (round255(acc[1]) << 8) | round255(acc[2]);
            }
        }
        return new Frame(out, dstW, dstH);
    }

    /** Per output index: {@code [firstSourceIndex, w0, w1, ...]}; weights sum to 1 (OpenCV computeResizeAreaTab). */
    static double[][] areaWeights(int src, int dst) {
        double scale = 1.0 / ((double) dst / src);
        double[][] tab = new double[dst][];
        for (int d = 0; d < dst; d++) {
            double f1 = d * scale, f2 = f1 + scale;
            double cell = Math.min(scale, src - f1);
            int s1 = (int) Math.ceil(f1), s2 = (int) Math.floor(f2);
            s2 = Math.min(s2, src - 1);
            s1 = Math.min(s1, s2);
            java.util.ArrayList<Double> w = new java.util.ArrayList<Double>();
            int first = s1;
            if (s1 - f1 > 1e-3) {
                first = s1 - 1;
                w.add((s1 - f1) / cell);
            }
            for (int s = s1; s < s2; s++) w.add(1.0 / cell);
            if (f2 - s2 > 1e-3) w.add(Math.min(Math.min(f2 - s2, 1.0), cell) / cell);
            double[] row = new double[w.size() + 1];
            row[0] = first;
            for (int k = 0; k < w.size(); k++) row[k + 1] = w.get(k);
            tab[d] = row;
        }
        return tab;
    }

    /** ITU-R 601 luma as OpenCV computes it for uint8: {@code (4899 R + 9617 G + 1868 B + 8192) >> 14}. */
    public static int luma(int argb) {
        return (4899 * ((argb >> 16) & 255) + 9617 * ((argb >> 8) & 255) + 1868 * (argb & 255) + 8192) >> 14;
    }
}
