package com.mobilekit.core;

/** Raw model output to p(person), class map, upsampled probability and mask, following the {@link Contract}. */
public final class Postprocess {
    private Postprocess() {}

    /** {@code x = (q - zeroPoint) * scale} for an int8/uint8 output tensor. */
    public static float[] dequantize(byte[] q, float scale, int zeroPoint, boolean unsigned) {
        float[] x = new float[q.length];
        for (int i = 0; i < q.length; i++) x[i] = (Preprocess.value(q[i], unsigned) - zeroPoint) * scale;
        return x;
    }

    /** Channels in a flat output of {@code values} numbers for an {@code h x w} map. */
    public static int channels(int values, int h, int w) {
        if (values % (h * w) != 0)
            throw new IllegalArgumentException("output: expected a multiple of " + h + "x" + w + " values, found " + values);
        return values / (h * w);
    }

    /**
     * p(person) at model size from one dequantized output ({@code h x w x C}, NHWC, batch 1).
     * softmax: channel {@code personIndex}; sigmoid: the single channel; logits: softmax over channels (C > 1)
     * or the logistic function (C == 1).
     */
    public static float[] personProbability(float[] out, Contract c) {
        int n = c.height * c.width;
        int ch = channels(out.length, c.height, c.width);
        float[] p = new float[n];
        if (ch == 1) {
            boolean logits = "logits".equals(c.kind);
            for (int i = 0; i < n; i++) p[i] = logits ? (float) (1.0 / (1.0 + Math.exp(-out[i]))) : out[i];
            return p;
        }
        int k = c.personIndex;
        if (!"logits".equals(c.kind)) {
            for (int i = 0; i < n; i++) p[i] = out[i * ch + k];
            return p;
        }
        for (int i = 0; i < n; i++) {
            float m = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < ch; j++) m = Math.max(m, out[i * ch + j]);
            double sum = 0, mine = 0;
            for (int j = 0; j < ch; j++) {
                double e = Math.exp(out[i * ch + j] - m);
                sum += e;
                if (j == k) mine = e;
            }
            p[i] = (float) (mine / sum);
        }
        return p;
    }

    /**
     * Class probabilities at model size ({@code h x w x K}, channel-last) of a K-class (parsing) output:
     * softmax as is, logits through a softmax over the channels. A sigmoid head is refused for K > 2 (independent
     * per-class probabilities do not make a partition; the toolkit's export refuses it too).
     */
    public static float[] classProbabilities(float[] out, Contract c) {
        int ch = channels(out.length, c.height, c.width);
        if ("sigmoid".equals(c.kind) && ch > 2)
            throw new IllegalArgumentException("contract output kind: sigmoid cannot encode " + ch
                    + " exclusive classes; expected softmax or logits");
        if (!"logits".equals(c.kind)) return out.clone();
        int n = c.height * c.width;
        float[] p = new float[out.length];
        for (int i = 0; i < n; i++) {
            float m = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < ch; j++) m = Math.max(m, out[i * ch + j]);
            double sum = 0;
            for (int j = 0; j < ch; j++) sum += Math.exp(out[i * ch + j] - m);
            for (int j = 0; j < ch; j++) p[i * ch + j] = (float) (Math.exp(out[i * ch + j] - m) / sum);
        }
        return p;
    }

    /**
     * The probability the portrait effects use, at model size: p(person) ({@link #personProbability}), or for a
     * K-class model ({@link Contract#isMultiClass}) the foreground {@code 1 - p(class 0)}.
     */
    public static float[] foregroundProbability(float[] out, Contract c) {
        return c.isMultiClass() ? foreground(classProbabilities(out, c), c.height, c.width) : personProbability(out, c);
    }

    /** Foreground of a K-class model, {@code 1 - p(class 0)} per pixel (the person for portrait effects). */
    public static float[] foreground(float[] probs, int h, int w) {
        int ch = channels(probs.length, h, w);
        float[] f = new float[h * w];
        for (int i = 0; i < f.length; i++) f[i] = 1f - probs[i * ch];
        return f;
    }

    /**
     * Class map at {@code dstW x dstH}: every class channel of {@code probs} ({@code h x w x K}) upsampled with
     * {@link #upsample}, then argmax (lowest index on ties).
     */
    public static byte[] classMapAt(float[] probs, int w, int h, int dstW, int dstH) {
        int ch = channels(probs.length, h, w);
        float[] plane = new float[w * h];
        float[] best = null;
        byte[] m = new byte[dstW * dstH];
        for (int j = 0; j < ch; j++) {
            for (int i = 0; i < plane.length; i++) plane[i] = probs[i * ch + j];
            float[] up = upsample(plane, w, h, dstW, dstH);
            if (best == null) {
                best = up;
                continue;
            }
            for (int i = 0; i < up.length; i++) {
                if (up[i] > best[i]) {
                    best[i] = up[i];
                    m[i] = (byte) j;
                }
            }
        }
        return m;
    }

    /** Class index per pixel (argmax over channels; the lowest index wins ties). */
    public static byte[] classMap(float[] out, int h, int w) {
        int ch = channels(out.length, h, w);
        byte[] m = new byte[h * w];
        for (int i = 0; i < h * w; i++) {
            int best = 0;
            for (int j = 1; j < ch; j++) if (out[i * ch + j] > out[i * ch + best]) best = j;
            m[i] = (byte) best;
        }
        return m;
    }

    /** Bilinear upsampling of a {@code h x w} map to {@code H x W}: half-pixel centres, edge clamp, float32. */
    public static float[] upsample(float[] p, int w, int h, int dstW, int dstH) {
        if (w == dstW && h == dstH) return p.clone();
        int[] x0 = new int[dstW], x1 = new int[dstW];
        double[] fx = new double[dstW];
        ImageOps.taps(w, dstW, x0, x1, fx);
        int[] y0 = new int[dstH], y1 = new int[dstH];
        double[] fy = new double[dstH];
        ImageOps.taps(h, dstH, y0, y1, fy);
        float[] out = new float[dstW * dstH];
        for (int y = 0; y < dstH; y++) {
            int r0 = y0[y] * w, r1 = y1[y] * w;
            float wy = (float) fy[y];
            for (int x = 0; x < dstW; x++) {
                float wx = (float) fx[x];
                float top = p[r0 + x0[x]] * (1 - wx) + p[r0 + x1[x]] * wx;
                float bot = p[r1 + x0[x]] * (1 - wx) + p[r1 + x1[x]] * wx;
                out[y * dstW + x] = top * (1 - wy) + bot * wy;
            }
        }
        return out;
    }

    /** 255 where {@code p > threshold}, else 0 (as unsigned bytes). */
    public static byte[] mask(float[] p, float threshold) {
        byte[] m = new byte[p.length];
        for (int i = 0; i < p.length; i++) m[i] = (byte) (p[i] > threshold ? 255 : 0);
        return m;
    }

    /** Intersection over union of two 0/255 masks (1.0 when both are empty). */
    public static double iou(byte[] a, byte[] b) {
        long inter = 0, union = 0;
        for (int i = 0; i < a.length; i++) {
            boolean x = a[i] != 0, y = b[i] != 0;
            if (x && y) inter++;
            if (x || y) union++;
        }
        return union == 0 ? 1.0 : (double) inter / union;
    }
}
