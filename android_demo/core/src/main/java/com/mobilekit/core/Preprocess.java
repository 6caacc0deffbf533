package com.mobilekit.core;

/** Upright frame to model input tensor (NHWC, batch 1), following the {@link Contract}. */
public final class Preprocess {
    private Preprocess() {}

    /**
     * Orient, resize and normalise a camera frame: {@code x = float(pixel) * scale[c] + offset[c]}.
     *
     * @return {@code float[height * width * channels]} in NHWC order, channels in {@code channelOrder}
     */
    public static float[] toInput(Frame frame, int rotationDegrees, boolean mirror, Contract c) {
        return normalize(ImageOps.resize(ImageOps.orient(frame, rotationDegrees, mirror), c.width, c.height), c);
    }

    /** Normalise a frame already at the model's size. */
    public static float[] normalize(Frame f, Contract c) {
        if (f.width != c.width || f.height != c.height)
            throw new IllegalArgumentException("normalize: expected a " + c.width + "x" + c.height + " frame, found " + f.width + "x" + f.height);
        int n = f.width * f.height;
        float[] x = new float[n * c.channels];
        boolean bgr = "BGR".equals(c.channelOrder);
        for (int i = 0; i < n; i++) {
            int p = f.argb[i];
            if (c.channels == 1) {
                x[i] = ImageOps.luma(p) * c.scale[0] + c.offset[0];
                continue;
            }
            int r = (p >> 16) & 255, g = (p >> 8) & 255, b = p & 255;
            int first = bgr ? b : r, last = bgr ? r : b;
            x[3 * i] = first * c.scale[0] + c.offset[0];
            x[3 * i + 1] = g * c.scale[1] + c.offset[1];
            x[3 * i + 2] = last * c.scale[2] + c.offset[2];
        }
        return x;
    }

    /**
     * Quantize for an int8/uint8 input tensor: {@code q = clamp(floor(x / scale + 0.5) + zeroPoint)}.
     *
     * @param unsigned uint8 (0..255) when true, int8 (-128..127) otherwise
     * @return the tensor bytes (two's complement for int8), ready for a direct ByteBuffer
     */
    public static byte[] quantize(float[] x, float scale, int zeroPoint, boolean unsigned) {
        byte[] q = new byte[x.length];
        int lo = unsigned ? 0 : -128, hi = unsigned ? 255 : 127;
        for (int i = 0; i < x.length; i++) {
            long v = (long) Math.floor((double) x[i] / scale + 0.5) + zeroPoint;
            q[i] = (byte) (v < lo ? lo : (v > hi ? hi : v));
        }
        return q;
    }

    /** The integer value of a quantized byte ({@code b & 0xFF} for uint8, {@code b} for int8). */
    public static int value(byte b, boolean unsigned) {
        return unsigned ? (b & 0xFF) : b;
    }
}
