package com.mobilekit.core;

/**
 * Portrait-mode effects on {@code int[]} ARGB, equal (within the golden tolerances) to mobilekit's
 * {@code mobile_kit.effects.portrait}: feathered matte, background blur by normalized convolution,
 * background replacement and a tinted overlay. Probabilities are at the frame's size.
 */
public final class Effects {
    private Effects() {}

    /** Feather sigma = max(FEATHER_MIN_SIGMA, FEATHER_RADIUS_FRACTION * hypot(H, W)). */
    public static final double FEATHER_RADIUS_FRACTION = 0.004, FEATHER_MIN_SIGMA = 0.8;
    /** Background blur sigma = max(BLUR_MIN_SIGMA, BLUR_FRACTION * max(H, W)). */
    public static final double BLUR_FRACTION = 0.02, BLUR_MIN_SIGMA = 1.0;
    /** Below this blurred background weight the plain blur of the whole image is used. */
    public static final double BLUR_WEIGHT_EPS = 1e-3;

    /** Opacity of the parts colour overlay (mobile_kit.effects.parts.parts_overlay, predict --effect parts). */
    public static final double PARTS_ALPHA = 0.55;

    /**
     * Colour of each of {@code k} classes, {@code 0xRRGGBB}: class 0 black, then the PASCAL VOC bit-interleaved
     * palette (bit j of r/g/b is bit 3*i+0/1/2 of the class index, most significant first).
     */
    public static int[] palette(int k) {
        int[] out = new int[k];
        for (int i = 0; i < k; i++) {
            int c = i, r = 0, g = 0, b = 0;
            for (int j = 0; j < 8; j++) {
                r |= ((c >> 0) & 1) << (7 - j);
                g |= ((c >> 1) & 1) << (7 - j);
                b |= ((c >> 2) & 1) << (7 - j);
                c >>= 3;
            }
            out[i] = (r << 16) | (g << 8) | b;
        }
        return out;
    }

    /**
     * Parts overlay (no legend): where {@code classMap[i] > 0} every channel becomes
     * {@code trunc(min(255, float32(px) * float32(1 - alpha) + float32(colour) * float32(alpha)))}; class 0 pixels
     * are unchanged. {@code argb} and {@code classMap} (unsigned class ids) are at the frame's size; alpha 0xFF.
     */
    public static int[] partsOverlay(int[] argb, byte[] classMap, int[] palette, double alpha) {
        float a = (float) alpha, na = (float) (1.0 - alpha);
        int[] out = new int[argb.length];
        for (int i = 0; i < argb.length; i++) {
            int cls = classMap[i] & 0xFF;
            int px = argb[i];
            if (cls == 0) {
                out[i] = 0xFF000000 | (px & 0xFFFFFF);
                continue;
            }
            if (cls >= palette.length)
                throw new IllegalArgumentException("class map: expected class ids below " + palette.length + ", found " + cls);
            int col = palette[cls], v = 0xFF000000;
            for (int sh = 16; sh >= 0; sh -= 8) {
                float f = ((px >> sh) & 255) * na + ((col >> sh) & 255) * a;
                v |= Math.min(255, (int) f) << sh;
            }
            out[i] = v;
        }
        return out;
    }

    public static double featherSigma(int w, int h) {
        return Math.max(FEATHER_MIN_SIGMA, FEATHER_RADIUS_FRACTION * Math.hypot(h, w));
    }

    public static double blurSigma(int w, int h) {
        return Math.max(BLUR_MIN_SIGMA, BLUR_FRACTION * Math.max(h, w));
    }

    /** Kernel radius OpenCV uses for float images: {@code (round_half_even(8 sigma + 1) | 1) / 2}. */
    public static int gaussianRadius(double sigma) {
        return ((int) Math.rint(sigma * 8 + 1) | 1) / 2;
    }

    /** Normalised Gaussian {@code k[i] = exp(-i^2 / (2 sigma^2))}, i = -r..r, float32 as OpenCV stores it. */
    public static float[] gaussianKernel(double sigma) {
        int r = gaussianRadius(sigma);
        float[] k = new float[2 * r + 1];
        double sum = 0;
        for (int i = 0; i < k.length; i++) {
            double x = i - r;
            k[i] = (float) Math.exp(-0.5 / (sigma * sigma) * x * x);
            sum += k[i];
        }
        for (int i = 0; i < k.length; i++) k[i] = (float) (k[i] / sum);
        return k;
    }

    /** Reflect an index into 0..n-1 without repeating the edge ({@code dcb|abcd|cba}, BORDER_REFLECT_101). */
    static int reflect101(int i, int n) {
        if (n == 1) return 0;
        while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
        return i;
    }

    /** Separable Gaussian blur of a {@code w x h} single-channel float map (rows first, then columns). */
    public static float[] gaussianBlur(float[] src, int w, int h, double sigma) {
        float[] k = gaussianKernel(sigma);
        int r = k.length / 2;
        float[] tmp = new float[w * h], out = new float[w * h];
        int[] xi = new int[w + 2 * r], yi = new int[h + 2 * r];
        for (int i = 0; i < xi.length; i++) xi[i] = reflect101(i - r, w);
        for (int i = 0; i < yi.length; i++) yi[i] = reflect101(i - r, h);
        for (int y = 0; y < h; y++) {
            int row = y * w;
            for (int x = 0; x < w; x++) {
                double s = 0;
                for (int j = 0; j < k.length; j++) s += k[j] * src[row + xi[x + j]];
                tmp[row + x] = (float) s;
            }
        }
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double s = 0;
                for (int j = 0; j < k.length; j++) s += k[j] * tmp[yi[y + j] * w + x];
                out[y * w + x] = (float) s;
            }
        }
        return out;
    }

    /** Soft alpha matte: the thresholded mask blurred by the feather Gaussian, values 0..1. */
    public static float[] feather(float[] prob, int w, int h, float threshold) {
        float[] hard = new float[w * h];
        for (int i = 0; i < hard.length; i++) hard[i] = prob[i] > threshold ? 1f : 0f;
        return gaussianBlur(hard, w, h, featherSigma(w, h));
    }

    private static float[] channel(int[] argb, int shift) {
        float[] c = new float[argb.length];
        for (int i = 0; i < argb.length; i++) c[i] = (argb[i] >> shift) & 255;
        return c;
    }

    private static int round255(float v) {
        float c = v + 0.5f;
        c = c < 0 ? 0 : (c > 255 ? 255 : c);
        return (int) Math.floor(c);
    }

    /**
     * Portrait mode: background blurred by normalized convolution (person pixels excluded, so the person's
     * colours do not bleed out), person sharp, feathered edge: {@code out = a * img + (1 - a) * blurred}.
     *
     * @param prob p(person) at the frame's size ({@code w * h})
     * @return a new ARGB image, alpha 0xFF
     */
    public static int[] portraitBlur(int[] argb, float[] prob, int w, int h, float threshold) {
        float[] a = feather(prob, w, h, threshold);
        float[] bg = new float[w * h];
        for (int i = 0; i < bg.length; i++) bg[i] = prob[i] > threshold ? 0f : 1f;
        double sigma = blurSigma(w, h);
        float[] den = gaussianBlur(bg, w, h, sigma);
        int[] out = new int[w * h];
        for (int i = 0; i < out.length; i++) out[i] = 0xFF000000;
        for (int sh = 16; sh >= 0; sh -= 8) {
            float[] img = channel(argb, sh);
            float[] weighted = new float[img.length];
            for (int i = 0; i < img.length; i++) weighted[i] = img[i] * bg[i];
            float[] num = gaussianBlur(weighted, w, h, sigma);
            float[] wide = null;
            for (int i = 0; i < img.length; i++) {
                float blurred;
                if (den[i] > BLUR_WEIGHT_EPS) {
                    blurred = num[i] / Math.max(den[i], (float) BLUR_WEIGHT_EPS);
                } else {
                    if (wide == null) wide = gaussianBlur(img, w, h, sigma);
                    blurred = wide[i];
                }
                out[i] |= round255(a[i] * img[i] + (1 - a[i]) * blurred) << sh;
            }
        }
        return out;
    }

    /** Background replacement: {@code out = a * img + (1 - a) * background} with the feathered matte. */
    public static int[] replaceBackground(int[] argb, int[] background, float[] prob, int w, int h, float threshold) {
        if (background.length != argb.length)
            throw new IllegalArgumentException("background: expected " + argb.length + " pixels, found " + background.length);
        float[] a = feather(prob, w, h, threshold);
        int[] out = new int[w * h];
        for (int i = 0; i < out.length; i++) {
            int v = 0xFF000000;
            for (int sh = 16; sh >= 0; sh -= 8) {
                float f = (argb[i] >> sh) & 255, b = (background[i] >> sh) & 255;
                v |= round255(a[i] * f + (1 - a[i]) * b) << sh;
            }
            out[i] = v;
        }
        return out;
    }

    /** Mask overlay: person pixels tinted towards {@code color} (ARGB) by {@code alpha} (0..1). */
    public static int[] overlay(int[] argb, float[] prob, float threshold, int color, float alpha) {
        int[] out = new int[argb.length];
        for (int i = 0; i < argb.length; i++) {
            if (!(prob[i] > threshold)) {
                out[i] = argb[i] | 0xFF000000;
                continue;
            }
            int v = 0xFF000000;
            for (int sh = 16; sh >= 0; sh -= 8) {
                float f = (argb[i] >> sh) & 255, c = (color >> sh) & 255;
                v |= ((int) (f * (1 - alpha) + c * alpha) & 255) << sh;
            }
            out[i] = v;
        }
        return out;
    }
}
