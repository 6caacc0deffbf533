package com.mobilekit.core;

import java.io.IOException;
import java.nio.charset.Charset;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reads the associated files that TFLite metadata packs into a {@code .tflite}: tflite-support's
 * {@code MetadataPopulator} APPENDS them to the flatbuffer as a zip archive (PKWARE APPNOTE 6.3), so the
 * archive starts after the model bytes. The reader finds the End Of Central Directory record from the end,
 * computes the archive's start (the prefix length) from the central directory's position, so that it works
 * whether the writer stored offsets relative to the archive or to the file, then walks the central directory to
 * the entry's local header. Stored (method 0) and deflated (method 8, raw deflate via {@link Inflater}) entries
 * are supported; the CRC-32 is checked. Java 8, java.util.zip only.
 */
public final class EmbeddedFiles {
    /** Name of the mobilekit contract inside a {@code .tflite} (the full metadata.json content). */
    public static final String CONTRACT_FILE = "mobilekit_metadata.json";

    private static final int EOCD_SIG = 0x06054b50, CEN_SIG = 0x02014b50, LOC_SIG = 0x04034b50;
    private static final int EOCD_SIZE = 22, MAX_COMMENT = 0xFFFF;

    private EmbeddedFiles() {}

    /**
     * The bytes of entry {@code name} of the zip archive at the end of {@code data}.
     *
     * @return the entry's uncompressed bytes, or {@code null} when {@code data} carries no zip archive or the
     *     archive has no such entry
     * @throws IOException the archive is there but damaged (truncated, unsupported method, CRC mismatch)
     */
    public static byte[] read(byte[] data, String name) throws IOException {
        int eocd = findEocd(data);
        if (eocd < 0) return null;
        int entries = u16(data, eocd + 10);
        long cdSize = u32(data, eocd + 12), cdOffset = u32(data, eocd + 16);
        long cdStart = eocd - cdSize;
        long prefix = cdStart - cdOffset; // bytes before the archive (0 when offsets are absolute)
        if (cdStart < 0 || prefix < 0) throw new IOException("embedded zip: central directory outside the file");
        Charset utf8 = Charset.forName("UTF-8");
        int p = (int) cdStart;
        for (int k = 0; k < entries; k++) {
            need(data, p, 46);
            if (i32(data, p) != CEN_SIG) throw new IOException("embedded zip: bad central directory entry at byte " + p);
            int method = u16(data, p + 10);
            long crc = u32(data, p + 16), csize = u32(data, p + 20), usize = u32(data, p + 24);
            int n = u16(data, p + 28), extra = u16(data, p + 30), comment = u16(data, p + 32);
            long local = u32(data, p + 42);
            need(data, p + 46, n);
            String entry = new String(data, p + 46, n, utf8);
            p += 46 + n + extra + comment;
            if (!entry.equals(name)) continue;
            long lh = prefix + local;
            if (lh > data.length - 30) throw new IOException("embedded zip: local header of " + name + " outside the file");
            int l = (int) lh;
            if (i32(data, l) != LOC_SIG) throw new IOException("embedded zip: bad local header for " + name + " at byte " + l);
            long start = (long) l + 30 + u16(data, l + 26) + u16(data, l + 28);
            if (start + csize > data.length) throw new IOException("embedded zip: " + name + " is truncated");
            byte[] out = extract(data, (int) start, (int) csize, (int) usize, method, name);
            CRC32 c = new CRC32();
            c.update(out, 0, out.length);
            if (c.getValue() != crc) throw new IOException("embedded zip: CRC-32 mismatch in " + name);
            return out;
        }
        return null;
    }

    private static byte[] extract(byte[] data, int start, int csize, int usize, int method, String name) throws IOException {
        if (method == 0) {
            byte[] out = new byte[csize];
            System.arraycopy(data, start, out, 0, csize);
            return out;
        }
        if (method != 8)
            throw new IOException("embedded zip: " + name + " uses compression method " + method + ", expected 0 (stored) or 8 (deflate)");
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(data, start, csize);
            byte[] out = new byte[usize];
            int got = 0;
            while (got < usize && !inf.finished()) {
                int r = inf.inflate(out, got, usize - got);
                if (r == 0 && (inf.needsInput() || inf.needsDictionary())) break;
                got += r;
            }
            if (got != usize) throw new IOException("embedded zip: " + name + " inflated to " + got + " bytes, expected " + usize);
            return out;
        } catch (DataFormatException e) {
            throw new IOException("embedded zip: " + name + " is not valid deflate data (" + e.getMessage() + ")");
        } finally {
            inf.end();
        }
    }

    /** Offset of the End Of Central Directory record (searched backwards over the longest comment), or -1. */
    static int findEocd(byte[] d) {
        int lo = Math.max(0, d.length - EOCD_SIZE - MAX_COMMENT);
        for (int p = d.length - EOCD_SIZE; p >= lo; p--)
            if (i32(d, p) == EOCD_SIG && p + EOCD_SIZE + u16(d, p + 20) == d.length) return p;
        return -1;
    }

    private static void need(byte[] d, int p, int n) throws IOException {
        if (p < 0 || p + n > d.length) throw new IOException("embedded zip: central directory truncated");
    }

    private static int u16(byte[] d, int p) {
        return (d[p] & 0xFF) | (d[p + 1] & 0xFF) << 8;
    }

    private static int i32(byte[] d, int p) {
        return (d[p] & 0xFF) | (d[p + 1] & 0xFF) << 8 | (d[p + 2] & 0xFF) << 16 | (d[p + 3] & 0xFF) << 24;
    }

    private static long u32(byte[] d, int p) {
        return i32(d, p) & 0xFFFFFFFFL;
    }
}
