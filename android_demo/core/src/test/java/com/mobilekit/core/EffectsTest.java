package com.mobilekit.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import org.junit.Test;

public class EffectsTest {
    @Test
    public void gaussianKernelFollowsOpenCvSizeRule() {
        assertEquals(8, Effects.gaussianRadius(2.0));  // ksize = round(17) | 1 = 17
        assertEquals(32, Effects.gaussianRadius(8.0)); // 65
        assertEquals(3, Effects.gaussianRadius(0.8));  // round(7.4) | 1 = 7
        float[] k = Effects.gaussianKernel(2.0);
        double s = 0;
        for (float v : k) s += v;
        assertEquals(1.0, s, 1e-6);
        assertEquals(k[0], k[k.length - 1], 0f);
        assertTrue(k[8] > k[7]);
    }

    @Test
    public void reflect101DoesNotRepeatTheEdge() {
        int[] got = new int[7];
        for (int i = -3; i <= 3; i++) got[i + 3] = Effects.reflect101(i, 3);
        assertArrayEquals(new int[] {1, 2, 1, 0, 1, 2, 1}, got); // "cb|abc|ba" with a=0
        assertEquals(1, Effects.reflect101(3, 3));
        assertEquals(0, Effects.reflect101(5, 1));
    }

    @Test
    public void blurKeepsConstantsAndSpreadsAnImpulse() {
        float[] c = new float[15 * 9];
        Arrays.fill(c, 3f);
        for (float v : Effects.gaussianBlur(c, 15, 9, 1.5)) assertEquals(3f, v, 1e-5f);
        float[] d = new float[21 * 21];
        d[10 * 21 + 10] = 1f;
        float[] b = Effects.gaussianBlur(d, 21, 21, 1.0);
        double sum = 0;
        for (float v : b) sum += v;
        assertEquals(1.0, sum, 1e-5);
        assertEquals(b[10 * 21 + 9], b[9 * 21 + 10], 1e-7f);
    }

    @Test
    public void portraitBlurKeepsThePersonAndBlursOnlyTheBackground() {
        int w = 40, h = 30;
        int[] img = new int[w * h];
        float[] prob = new float[w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                img[y * w + x] = 0xFF000000 | (((x + y) % 2 == 0) ? 0xFFFFFF : 0); // checkerboard
                prob[y * w + x] = x < 20 ? 0.9f : 0.1f;
            }
        int[] out = Effects.portraitBlur(img, prob, w, h, 0.5f);
        assertEquals(img[15 * w + 2], out[15 * w + 2]);           // deep in the person: unchanged
        int bg = out[15 * w + 35] & 255;
        assertTrue("background blurred to grey, got " + bg, bg > 90 && bg < 165);
        float[] all = new float[w * h];
        Arrays.fill(all, 1f);
        assertArrayEquals(img, Effects.portraitBlur(img, all, w, h, 0.5f));
    }

    @Test
    public void replaceBackgroundUsesTheMatte() {
        int[] img = new int[100], bg = new int[100];
        Arrays.fill(img, 0xFFFF0000);
        Arrays.fill(bg, 0xFF0000FF);
        float[] none = new float[100];
        assertArrayEquals(bg, Effects.replaceBackground(img, bg, none, 10, 10, 0.5f));
        float[] all = new float[100];
        Arrays.fill(all, 1f);
        assertArrayEquals(img, Effects.replaceBackground(img, bg, all, 10, 10, 0.5f));
        int[] ov = Effects.overlay(img, all, 0.5f, 0xFF0000FF, 0.5f);
        assertEquals(0xFF7F007F, ov[0]);
    }

    @Test
    public void emaSmoothsAndResetsOnSizeChange() {
        Temporal t = new Temporal(0.5f);
        assertArrayEquals(new float[] {1f}, t.update(new float[] {1f}), 0f);
        assertArrayEquals(new float[] {0.5f}, t.update(new float[] {0f}), 0f);
        assertArrayEquals(new float[] {0.25f}, t.update(new float[] {0f}), 0f);
        assertArrayEquals(new float[] {0f, 0f}, t.update(new float[] {0f, 0f}), 0f);
        assertEquals(0.5f, Temporal.EMA_ALPHA, 0f);
    }
}
