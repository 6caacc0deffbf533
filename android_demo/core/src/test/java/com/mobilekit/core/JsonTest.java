package com.mobilekit.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.List;
import java.util.Map;
import org.junit.Test;

public class JsonTest {
    @Test
    public void parsesNestedValuesEscapesAndNumbers() {
        Map<String, Object> m = Json.parseObject("{\"a\": [1, -2.5e-3, true, null], \"s\": \"x\\\"y\\u00e9\\n\", \"o\": {}}");
        List<?> a = (List<?>) m.get("a");
        assertEquals(1.0, (Double) a.get(0), 0);
        assertEquals(-0.0025, (Double) a.get(1), 1e-15);
        assertEquals(Boolean.TRUE, a.get(2));
        assertNull(a.get(3));
        assertEquals("x\"y\u00e9\n", m.get("s"));
        assertTrue(((Map<?, ?>) m.get("o")).isEmpty());
    }

    @Test
    public void rejectsMalformedInputNamingTheOffset() {
        for (String bad : new String[] {"{\"a\": }", "[1, 2", "{\"a\" 1}", "tru", "{} x"}) {
            try {
                Json.parse(bad);
                fail("accepted " + bad);
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("offset"));
            }
        }
    }
}
