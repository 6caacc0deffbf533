package com.mobilekit.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.Charset;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import org.junit.Test;

public class EmbeddedFilesTest {
    static final Charset UTF8 = Charset.forName("UTF-8");
    static final String META = "{\"name\": \"m\", \"version\": 1, \"input\": {\"height\": 64, \"width\": 96, \"channels\": 3,"
            + " \"scale\": [0.1, 0.2, 0.3], \"offset\": -1.0}, \"output\": {\"kind\": \"softmax\", \"labels\": [\"background\", \"person\"]}}";

    /** A fake flatbuffer followed by a zip (offsets relative to the zip's start, as when a zip is appended). */
    static byte[] modelWithZip(int prefixLength, String[] names, byte[][] contents, boolean[] stored) throws IOException {
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        ZipOutputStream z = new ZipOutputStream(zip);
        for (int i = 0; i < names.length; i++) {
            ZipEntry e = new ZipEntry(names[i]);
            if (stored[i]) {
                CRC32 c = new CRC32();
                c.update(contents[i]);
                e.setMethod(ZipEntry.STORED);
                e.setSize(contents[i].length);
                e.setCompressedSize(contents[i].length);
                e.setCrc(c.getValue());
            } else {
                e.setMethod(ZipEntry.DEFLATED);
            }
            z.putNextEntry(e);
            z.write(contents[i]);
            z.closeEntry();
        }
        z.close();
        byte[] prefix = new byte[prefixLength];
        new Random(7).nextBytes(prefix);
        byte[] zb = zip.toByteArray();
        byte[] out = new byte[prefix.length + zb.length];
        System.arraycopy(prefix, 0, out, 0, prefix.length);
        System.arraycopy(zb, 0, out, prefix.length, zb.length);
        return out;
    }

    static byte[] repetitive() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 200; i++) b.append("labels person background ").append(i % 7);
        return b.toString().getBytes(UTF8);
    }

    @Test
    public void readsStoredAndDeflatedEntriesAfterAPrefix() throws IOException {
        byte[] big = repetitive();
        byte[] data = modelWithZip(12345, new String[] {"labels.txt", EmbeddedFiles.CONTRACT_FILE},
                new byte[][] {big, META.getBytes(UTF8)}, new boolean[] {false, true});
        assertArrayEquals(META.getBytes(UTF8), EmbeddedFiles.read(data, EmbeddedFiles.CONTRACT_FILE));
        assertArrayEquals(big, EmbeddedFiles.read(data, "labels.txt"));
        assertTrue("deflated entry must be smaller than its text", data.length < 12345 + big.length);
        assertNull(EmbeddedFiles.read(data, "missing.json"));
        // the same bytes deflated
        byte[] d2 = modelWithZip(3, new String[] {EmbeddedFiles.CONTRACT_FILE}, new byte[][] {META.getBytes(UTF8)}, new boolean[] {false});
        assertArrayEquals(META.getBytes(UTF8), EmbeddedFiles.read(d2, EmbeddedFiles.CONTRACT_FILE));
    }

    @Test
    public void noZipMeansNoEntry() throws IOException {
        byte[] plain = new byte[4096];
        new Random(3).nextBytes(plain);
        assertNull(EmbeddedFiles.read(plain, EmbeddedFiles.CONTRACT_FILE));
        assertNull(EmbeddedFiles.read(new byte[0], EmbeddedFiles.CONTRACT_FILE));
    }

    @Test
    public void detectsACorruptedEntry() throws IOException {
        byte[] data = modelWithZip(100, new String[] {"a.txt"}, new byte[][] {"hello world".getBytes(UTF8)}, new boolean[] {true});
        int at = indexOf(data, "hello".getBytes(UTF8));
        data[at] ^= 1;
        try {
            EmbeddedFiles.read(data, "a.txt");
            fail("CRC mismatch not detected");
        } catch (IOException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("CRC-32"));
        }
    }

    @Test
    public void contractPrefersTheSidecarAndFallsBackToTheEmbeddedCopy() throws IOException {
        byte[] model = modelWithZip(64, new String[] {EmbeddedFiles.CONTRACT_FILE}, new byte[][] {META.getBytes(UTF8)}, new boolean[] {false});
        Contract c = Contract.load(null, model, "metadata.json", "model.tflite");
        assertEquals(64, c.height);
        assertEquals(96, c.width);
        assertEquals(0.2f, c.scale[1], 0f);
        // the same contract beside it (with another provenance field) is accepted
        String same = META.replace("{\"name\"", "{\"created\": \"today\", \"name\"");
        assertEquals(64, Contract.load(same.getBytes(UTF8), model, "metadata.json", "model.tflite").height);
        assertNull(Contract.load(null, new byte[100], "metadata.json", "model.tflite"));
        assertEquals(64, Contract.load(META.getBytes(UTF8), null, "metadata.json", "model.tflite").height);
    }

    @Test
    public void contractDisagreementNamesTheFields() throws IOException {
        byte[] model = modelWithZip(64, new String[] {EmbeddedFiles.CONTRACT_FILE}, new byte[][] {META.getBytes(UTF8)}, new boolean[] {true});
        String stale = META.replace("0.2, 0.3", "0.2, 0.5").replace("\"person\"]", "\"human\"]");
        try {
            Contract.load(stale.getBytes(UTF8), model, "bundle/metadata.json", "model.tflite");
            fail("disagreement not detected");
        } catch (IllegalArgumentException e) {
            String m = e.getMessage();
            assertTrue(m, m.contains("input.scale") && m.contains("output.labels") && m.contains("bundle/metadata.json"));
            assertTrue(m, !m.contains("\n") && !m.contains("input.height"));
        }
    }

    static int indexOf(byte[] d, byte[] pat) {
        outer:
        for (int i = 0; i + pat.length <= d.length; i++) {
            for (int j = 0; j < pat.length; j++) if (d[i + j] != pat[j]) continue outer;
            return i;
        }
        return -1;
    }
}
