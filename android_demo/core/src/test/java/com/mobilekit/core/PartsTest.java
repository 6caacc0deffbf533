package com.mobilekit.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Arrays;
import org.junit.Test;

/** K-class (body-part parsing) decode, class maps and the parts overlay (golden format 2). */
public class PartsTest {
    private static Contract contract(String kind, int h, int w, int k) {
        String[] names = new String[k];
        for (int i = 0; i < k; i++) names[i] = "c" + i;
        return new Contract(h, w, 3, new float[] {1 / 255f}, new float[] {0f}, "RGB", "NHWC", kind,
                Arrays.asList(names), 1, 0.5f, "t");
    }

    @Test
    public void paletteIsPascalVocWithBlackBackground() {
        int[] p = Effects.palette(8);
        assertArrayEquals(new int[] {0x000000, 0x800000, 0x008000, 0x808000, 0x000080, 0x800080, 0x008080, 0x808080}, p);
        assertEquals(0x400000, Effects.palette(9)[8]);
    }

    @Test
    public void logitsGoThroughASoftmaxAndSigmoidIsRefusedForThreeClasses() {
        float[] z = {0f, (float) Math.log(2), (float) Math.log(5), 3f, 3f, 1f}; // 1x2 pixels, 3 classes
        float[] p = Postprocess.classProbabilities(z, contract("logits", 1, 2, 3));
        assertEquals(0.125f, p[0], 1e-6f);
        assertEquals(0.25f, p[1], 1e-6f);
        assertEquals(0.625f, p[2], 1e-6f);
        assertEquals(p[3], p[4], 0f);
        assertArrayEquals(new byte[] {2, 0}, Postprocess.classMap(p, 1, 2)); // tie 3 == 3 -> lowest index
        assertArrayEquals(new float[] {0.875f, 1 - p[3]}, Postprocess.foreground(p, 1, 2), 1e-6f);
        float[] soft = {0.2f, 0.3f, 0.5f, 0.6f, 0.3f, 0.1f};
        assertArrayEquals(soft, Postprocess.classProbabilities(soft, contract("softmax", 1, 2, 3)), 0f);
        try {
            Postprocess.classProbabilities(soft, contract("sigmoid", 1, 2, 3));
            fail("sigmoid accepted for 3 classes");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("sigmoid") && e.getMessage().contains("3"));
        }
    }

    @Test
    public void classMapAtFrameSizeUpsamplesEveryChannelThenArgmax() {
        // 1x2 model map: left pixel class 1, right pixel class 2; upsampled to 1x4 the border falls between them
        float[] probs = {0.1f, 0.8f, 0.1f, 0.1f, 0.2f, 0.7f};
        byte[] m = Postprocess.classMapAt(probs, 2, 1, 4, 1);
        assertArrayEquals(new byte[] {1, 1, 2, 2}, m);
        // the same map at model size is the plain argmax
        assertArrayEquals(Postprocess.classMap(probs, 1, 2), Postprocess.classMapAt(probs, 2, 1, 2, 1));
    }

    @Test
    public void partsOverlayBlendsNonBackgroundPixelsOnly() {
        int[] img = {0xFF102030, 0x80FFFFFF, 0xFF000000};
        byte[] cls = {0, 1, 2};
        int[] out = Effects.partsOverlay(img, cls, Effects.palette(3), Effects.PARTS_ALPHA);
        assertEquals(0xFF102030, out[0]);
        // 255 * 0.45 + 128 * 0.55 = 185.15 -> 185; 255 * 0.45 = 114.75 -> 114 (truncated, as uint8 casting in NumPy)
        assertEquals(0xFFB97272, out[1]);
        assertEquals(0xFF004600, out[2]); // 128 * 0.55 = 70.4 -> 70
        try {
            Effects.partsOverlay(img, new byte[] {0, 0, 5}, Effects.palette(3), 0.5);
            fail("class id beyond the palette accepted");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("5"));
        }
    }

    @Test
    public void theTaskInMetadataSelectsTheForeground() {
        String meta = "{\"task\": {\"name\": \"parsing\"}, \"input\": {\"height\": 1, \"width\": 1},"
                + " \"output\": {\"kind\": \"softmax\", \"labels\": [\"background\", \"hair\", \"skin\"], \"person_index\": 1}}";
        Contract parsing = Contract.parse(meta);
        assertEquals("parsing", parsing.task);
        assertTrue(parsing.isMultiClass());
        float[] out = {0.25f, 0.5f, 0.25f};
        assertEquals(0.75f, Postprocess.foregroundProbability(out, parsing)[0], 1e-6f); // 1 - p(background)
        Contract person = Contract.parse(meta.replace("\"task\": {\"name\": \"parsing\"}, ", ""));
        assertEquals("person", person.task);
        assertTrue(!person.isMultiClass());
        assertEquals(0.5f, Postprocess.foregroundProbability(out, person)[0], 0f); // channel person_index
    }
}
