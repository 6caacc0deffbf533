package com.mobilekit.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import java.util.Arrays;
import org.junit.Test;

public class PrePostTest {
    static Contract contract(int h, int w, int ch, String order, String kind, String labels, String scale, String offset) {
        return Contract.parse("{\"input\": {\"height\": " + h + ", \"width\": " + w + ", \"channels\": " + ch + ", \"scale\": " + scale
                + ", \"offset\": " + offset + ", \"channel_order\": \"" + order + "\"}, \"output\": {\"kind\": \"" + kind
                + "\", \"labels\": " + labels + ", \"foreground_index\": 1}}");
    }

    @Test
    public void normalisesPerChannelInContractOrder() {
        Contract rgb = contract(1, 1, 3, "RGB", "softmax", "[\"b\", \"p\"]", "[1, 2, 4]", "[0, -1, -2]");
        Contract bgr = contract(1, 1, 3, "BGR", "softmax", "[\"b\", \"p\"]", "[1, 2, 4]", "[0, -1, -2]");
        Frame f = new Frame(new int[] {0xFF0A141E}, 1, 1); // r=10 g=20 b=30
        assertArrayEquals(new float[] {10, 39, 118}, Preprocess.normalize(f, rgb), 0f);
        assertArrayEquals(new float[] {30, 39, 38}, Preprocess.normalize(f, bgr), 0f);
        Contract gray = contract(1, 1, 1, "GRAY", "sigmoid", "[\"p\"]", "0.0078431373", "-1");
        assertEquals(ImageOps.luma(0xFF0A141E) * 0.0078431373f - 1f, Preprocess.normalize(f, gray)[0], 1e-7f);
    }

    @Test
    public void quantizesWithFloorHalfUpAndClamps() {
        float[] x = {0.5f, 1.5f, -0.5f, -1.5f, 1000f, -1000f};
        byte[] q = Preprocess.quantize(x, 1f, 0, false);
        int[] v = new int[q.length];
        for (int i = 0; i < q.length; i++) v[i] = Preprocess.value(q[i], false);
        assertArrayEquals(new int[] {1, 2, 0, -1, 127, -128}, v); // numpy's round() would give 0, 2, -0, -2
        byte[] u = Preprocess.quantize(new float[] {0f, 0.125f, 1000f}, 0.25f, 0, true);
        assertEquals(0, Preprocess.value(u[0], true));
        assertEquals(1, Preprocess.value(u[1], true));
        assertEquals(255, Preprocess.value(u[2], true));
        float[] d = Postprocess.dequantize(new byte[] {(byte) 200, 0}, 0.5f, 10, true);
        assertArrayEquals(new float[] {95f, -5f}, d, 0f);
    }

    @Test
    public void decodesSoftmaxSigmoidLogitsAndArgmax() {
        float[] two = {0.2f, 0.8f, 0.9f, 0.1f};
        assertArrayEquals(new float[] {0.8f, 0.1f}, Postprocess.personProbability(two, contract(1, 2, 3, "RGB", "softmax", "[\"b\", \"p\"]", "1", "0")), 0f);
        float[] z = {0f, (float) Math.log(3)};
        assertEquals(0.75f, Postprocess.personProbability(z, contract(1, 1, 3, "RGB", "logits", "[\"b\", \"p\"]", "1", "0"))[0], 1e-6f);
        assertEquals(0.5f, Postprocess.personProbability(new float[] {0f}, contract(1, 1, 3, "RGB", "logits", "[\"p\"]", "1", "0"))[0], 0f);
        assertEquals(0.3f, Postprocess.personProbability(new float[] {0.3f}, contract(1, 1, 3, "RGB", "sigmoid", "[\"p\"]", "1", "0"))[0], 0f);
        float[] three = {1, 5, 2, 7, 0, 7, 0, 0, 0};
        assertArrayEquals(new byte[] {1, 0, 0}, Postprocess.classMap(three, 1, 3));
        Contract c3 = contract(1, 3, 3, "RGB", "logits", "[\"b\", \"p\", \"h\"]", "1", "0");
        float[] p = Postprocess.personProbability(three, c3);
        assertEquals(Math.exp(5) / (Math.exp(1) + Math.exp(5) + Math.exp(2)), p[0], 1e-6);
        assertEquals(1.0 / 3, p[2], 1e-6);
    }

    @Test
    public void upsamplesMaskAndIou() {
        float[] up = Postprocess.upsample(new float[] {0f, 1f}, 2, 1, 4, 1);
        assertArrayEquals(new float[] {0f, 0.25f, 0.75f, 1f}, up, 1e-7f);
        byte[] m = Postprocess.mask(up, 0.5f);
        assertArrayEquals(new byte[] {0, 0, (byte) 255, (byte) 255}, m);
        assertEquals(0.5, Postprocess.iou(m, new byte[] {0, (byte) 255, (byte) 255, 0}), 0.17);
        assertEquals(1.0 / 3, Postprocess.iou(m, new byte[] {0, (byte) 255, (byte) 255, 0}), 1e-12);
        assertEquals(1.0, Postprocess.iou(new byte[2], new byte[2]), 0);
    }

    @Test
    public void followsAnyContractSizeEndToEnd() {
        Contract c = contract(8, 12, 3, "RGB", "softmax", "[\"b\", \"p\"]", "0.00392156862745098", "0");
        int[] px = new int[30 * 20];
        Arrays.fill(px, 0xFFFFFFFF);
        float[] x = Preprocess.toInput(new Frame(px, 30, 20), 90, true, c);
        assertEquals(8 * 12 * 3, x.length);
        for (float v : x) assertEquals(1f, v, 1e-6f);
    }
}
