package com.mobilekit.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class ImageOpsTest {
    // 3 wide, 2 tall: pixel values 0..5 in the blue channel
    static Frame grid() {
        int[] p = new int[6];
        for (int i = 0; i < 6; i++) p[i] = 0xFF000000 | i;
        return new Frame(p, 3, 2);
    }

    static int[] blue(Frame f) {
        int[] b = new int[f.argb.length];
        for (int i = 0; i < b.length; i++) b[i] = f.argb[i] & 255;
        return b;
    }

    @Test
    public void rotatesClockwiseThenMirrors() {
        // source  0 1 2     90 cw:  3 0     180: 5 4 3    270 cw: 2 5
        //         3 4 5             4 1          2 1 0            1 4
        //                           5 2                           0 3
        Frame r90 = ImageOps.orient(grid(), 90, false);
        assertEquals(2, r90.width);
        assertEquals(3, r90.height);
        assertArrayEquals(new int[] {3, 0, 4, 1, 5, 2}, blue(r90));
        assertArrayEquals(new int[] {5, 4, 3, 2, 1, 0}, blue(ImageOps.orient(grid(), 180, false)));
        assertArrayEquals(new int[] {2, 5, 1, 4, 0, 3}, blue(ImageOps.orient(grid(), 270, false)));
        assertArrayEquals(new int[] {5, 2, 4, 1, 3, 0}, blue(ImageOps.orient(grid(), 270, true)));
        assertArrayEquals(new int[] {2, 1, 0, 5, 4, 3}, blue(ImageOps.orient(grid(), 0, true)));
    }

    @Test(expected = IllegalArgumentException.class)
    public void rejectsOddRotations() {
        ImageOps.orient(grid(), 45, false);
    }

    @Test
    public void areaResizeAveragesBlocks() {
        int[] p = new int[16];
        for (int i = 0; i < 16; i++) p[i] = 0xFF000000 | ((i % 4) * 10 + (i / 4) * 40);
        Frame f = ImageOps.resize(new Frame(p, 4, 4), 2, 2);
        // top-left block 0,10,40,50 -> 25; top-right 20,30,60,70 -> 45
        assertArrayEquals(new int[] {25, 45, 105, 125}, blue(f));
        assertEquals(true, ImageOps.usesArea(4, 4, 2, 2));
        assertEquals(false, ImageOps.usesArea(4, 1, 2, 2));
    }

    @Test
    public void areaWeightsCoverPartialPixels() {
        double[][] w = ImageOps.areaWeights(5, 2); // scale 2.5: [0, 2.5) and [2.5, 5)
        assertEquals(0, (int) w[0][0]);
        assertArrayEquals(new double[] {0, 0.4, 0.4, 0.2}, w[0], 1e-12);
        assertArrayEquals(new double[] {2, 0.2, 0.4, 0.4}, w[1], 1e-12);
    }

    @Test
    public void bilinearUpscaleUsesHalfPixelCentresAndClampsEdges() {
        Frame f = new Frame(new int[] {0xFF000000, 0xFF000000 | 200}, 2, 1);
        Frame up = ImageOps.resize(f, 4, 1);
        // centres at -0.25 (clamped -> 0), 0.25, 0.75, 1.25 (clamped -> 200)
        assertArrayEquals(new int[] {0, 50, 150, 200}, blue(up));
    }

    @Test
    public void constantImageStaysConstant() {
        int[] p = new int[7 * 5];
        java.util.Arrays.fill(p, 0xFF7F3F1F);
        for (int[] s : new int[][] {{13, 11}, {3, 2}, {4, 9}}) {
            for (int v : ImageOps.resize(new Frame(p, 7, 5), s[0], s[1]).argb) assertEquals(0xFF7F3F1F, v);
        }
    }

    @Test
    public void lumaMatchesItuR601() {
        assertEquals(255, ImageOps.luma(0xFFFFFFFF));
        assertEquals(76, ImageOps.luma(0xFFFF0000));
        assertEquals(150, ImageOps.luma(0xFF00FF00));
        assertEquals(29, ImageOps.luma(0xFF0000FF));
    }
}
