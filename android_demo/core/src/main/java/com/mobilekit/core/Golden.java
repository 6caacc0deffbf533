package com.mobilekit.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reader for a bundle's {@code golden/} folder written by mobilekit ({@code manifest.json} plus little-endian
 * binaries; format in android_demo/GOLDEN.md). File access goes through {@link Source} so that the app can read
 * from its assets and GoldenCheck from the file system.
 */
public final class Golden {
    /** Reads a file of the bundle by its path relative to the bundle folder ("metadata.json", "golden/..."). */
    public interface Source {
        byte[] read(String relativePath) throws IOException;
    }

    /** One tensor stored in the golden folder. */
    public static final class Array {
        public final String dtype;
        public final int[] shape;
        public final ByteBuffer data;

        Array(String dtype, int[] shape, byte[] bytes) {
            this.dtype = dtype;
            this.shape = shape;
            this.data = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        }

        public int size() {
            int n = 1;
            for (int s : shape) n *= s;
            return n;
        }

        /** Values as float (float32 as is, integers converted). */
        public float[] floats() {
            int n = size();
            float[] f = new float[n];
            for (int i = 0; i < n; i++) f[i] = get(i);
            return f;
        }

        public float get(int i) {
            if ("float32".equals(dtype)) return data.getFloat(4 * i);
            if ("uint8".equals(dtype)) return data.get(i) & 0xFF;
            if ("int8".equals(dtype)) return data.get(i);
            if ("uint32".equals(dtype) || "int32".equals(dtype)) return data.getInt(4 * i);
            throw new IllegalArgumentException("golden: unsupported dtype " + dtype);
        }

        public int[] ints() {
            int n = size();
            int[] v = new int[n];
            for (int i = 0; i < n; i++) v[i] = data.getInt(4 * i);
            return v;
        }

        public byte[] bytes() {
            byte[] b = new byte[size()];
            data.duplicate().get(b);
            return b;
        }
    }

    /** One golden case (a photo as the camera delivers it and every stored intermediate). */
    public static final class Case {
        public final String name;
        public final int frameWidth, frameHeight, width, height, rotationDegrees;
        public final boolean mirror;
        public final Map<String, Object> json;
        private final Source src;
        private final Map<String, Object> files;

        @SuppressWarnings("unchecked")
        Case(Map<String, Object> c, Source src) {
            this.json = c;
            this.src = src;
            this.name = Json.str(c, "name", "?");
            this.frameWidth = (int) Json.num(c, "frame_width", "golden case");
            this.frameHeight = (int) Json.num(c, "frame_height", "golden case");
            this.width = (int) Json.num(c, "width", "golden case");
            this.height = (int) Json.num(c, "height", "golden case");
            this.rotationDegrees = (int) Json.num(c, "rotation_degrees", 0);
            this.mirror = Boolean.TRUE.equals(c.get("mirror"));
            this.files = Json.obj(c, "files", "golden case " + name);
        }

        public boolean has(String key) {
            return files.containsKey(key);
        }

        /** Loads one stored array ("source_argb", "input_tensor", "raw_output", "prob_model", ...). */
        @SuppressWarnings("unchecked")
        public Array load(String key) throws IOException {
            Map<String, Object> f = Json.obj(files, key, "golden case " + name);
            List<Object> sh = Json.list(f, "shape", key);
            int[] shape = new int[sh.size()];
            for (int i = 0; i < shape.length; i++) shape[i] = ((Double) sh.get(i)).intValue();
            Array a = new Array(Json.str(f, "dtype", "?"), shape, src.read("golden/" + Json.str(f, "path", "?")));
            int item = "float32".equals(a.dtype) || a.dtype.endsWith("32") ? 4 : 1;
            if (a.data.capacity() != a.size() * item)
                throw new IOException("golden/" + Json.str(f, "path", "?") + ": expected " + a.size() * item + " bytes, found " + a.data.capacity());
            return a;
        }

        /** The source frame as the camera delivered it. */
        public Frame sourceFrame() throws IOException {
            return new Frame(load("source_argb").ints(), frameWidth, frameHeight);
        }
    }

    public final Map<String, Object> manifest;
    public final List<Case> cases = new ArrayList<Case>();
    /**
     * The contract: the bundle's metadata.json if present, else the one embedded in the artifact, else the
     * manifest's copy ({@link Contract#load}: metadata.json and the embedded copy must agree).
     */
    public final Contract contract;

    public Golden(Source src) throws IOException {
        Charset utf8 = Charset.forName("UTF-8");
        this.manifest = Json.parseObject(new String(src.read("golden/manifest.json"), utf8));
        if (!"mobilekit-golden".equals(manifest.get("format")))
            throw new IOException("golden/manifest.json: expected format mobilekit-golden, found " + Json.describe(manifest.get("format")));
        if (!"little".equals(manifest.get("byte_order")))
            throw new IOException("golden/manifest.json: expected byte_order little, found " + Json.describe(manifest.get("byte_order")));
        String artifact = Json.str(manifest, "artifact", "model.tflite");
        Contract found = Contract.load(readOptional(src, "metadata.json"), readOptional(src, artifact), "metadata.json", artifact);
        this.contract = found != null ? found : Contract.fromMap(Json.obj(manifest, "contract", "golden/manifest.json"));
        for (Object c : Json.list(manifest, "cases", "golden/manifest.json")) {
            @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) c;
            cases.add(new Case(m, src));
        }
    }

    private static byte[] readOptional(Source src, String rel) {
        try {
            return src.read(rel);
        } catch (IOException e) {
            return null;
        }
    }

    public Map<String, Object> tensor(String which) {
        return Json.obj(manifest, which, "golden/manifest.json");
    }

    public double tolerance(String key) {
        return Json.num(Json.obj(manifest, "tolerances", "golden/manifest.json"), key, "golden tolerances");
    }

    public static boolean quantized(Map<String, Object> tensor) {
        String dt = Json.str(tensor, "dtype", "float32");
        return "int8".equals(dt) || "uint8".equals(dt);
    }
}
