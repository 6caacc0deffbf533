package com.mobilekit.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.junit.Test;

public class ContractTest {
    static final String META = "{\"name\": \"m\", \"input\": {\"height\": 64, \"width\": 96, \"channels\": 3,"
            + " \"scale\": [0.1, 0.2, 0.3], \"offset\": -1.0, \"layout\": \"NHWC\", \"channel_order\": \"BGR\"},"
            + " \"output\": {\"kind\": \"logits\", \"labels\": [\"background\", \"person\", \"hair\"], \"foreground_index\": 1, \"threshold\": 0.4}}";

    @Test
    public void readsEverythingFromTheMetadata() {
        Contract c = Contract.parse(META);
        assertEquals(64, c.height);
        assertEquals(96, c.width);
        assertArrayEquals(new float[] {0.1f, 0.2f, 0.3f}, c.scale, 0f);
        assertArrayEquals(new float[] {-1f, -1f, -1f}, c.offset, 0f);
        assertEquals("BGR", c.channelOrder);
        assertEquals("logits", c.kind);
        assertEquals(3, c.labels.size());
        assertEquals("hair", c.labels.get(2));
        assertEquals(0.4f, c.threshold, 0f);
        assertEquals(64 * 96 * 3, c.inputSize());
    }

    @Test
    public void grayscaleContractHasOneChannel() {
        Contract c = Contract.parse("{\"input\": {\"height\": 32, \"width\": 32, \"channels\": 1, \"scale\": 0.0078431373, \"offset\": -1},"
                + " \"output\": {\"kind\": \"sigmoid\", \"labels\": [\"person\"]}}");
        assertEquals("GRAY", c.channelOrder);
        assertEquals(1, c.scale.length);
        assertEquals(0, c.personIndex);
    }

    @Test
    public void rejectsBadContractsNamingTheField() {
        String[] bad = {"{\"output\": {}}", META.replace("\"logits\"", "\"relu\""), META.replace("[0.1, 0.2, 0.3]", "[0.1, 0.2]"),
                META.replace("\"foreground_index\": 1", "\"foreground_index\": 5"),
                META.replace("\"foreground_index\": 1", "\"person_index\": 7")};
        String[] names = {"input", "kind", "scale", "foreground_index", "person_index"};
        for (int i = 0; i < bad.length; i++) {
            try {
                Contract.parse(bad[i]);
                fail("accepted " + bad[i]);
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage(), e.getMessage().contains(names[i]));
            }
        }
    }

    @Test
    public void readsForegroundIndexAndFallsBackToTheLegacyPersonIndex() {
        assertEquals(2, Contract.parse(META.replace("\"foreground_index\": 1", "\"foreground_index\": 2")).personIndex);
        // v1 files and v2 files written before the rename carry person_index only
        assertEquals(2, Contract.parse(META.replace("\"foreground_index\": 1", "\"person_index\": 2")).personIndex);
        // both present: the current name wins
        assertEquals(0, Contract.parse(META.replace("\"foreground_index\": 1",
                "\"person_index\": 2, \"foreground_index\": 0")).personIndex);
    }
}
