package com.mobilekit.core;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs every golden case of one or more bundles through the core and compares with what mobilekit computed:
 * source pixels to input tensor; stored raw output to p(person) (and class map), upsampled probability, mask and
 * portrait composite. Prints ONE JSON line with the worst differences; exit status 0 only if all are within
 * the manifest's tolerances, 1 if not, 2 on unreadable input.
 *
 * <pre>java -cp core.jar com.mobilekit.core.GoldenCheck BUNDLE_DIR [BUNDLE_DIR...]</pre>
 */
public final class GoldenCheck {
    private GoldenCheck() {}

    /** The outcome for one bundle. */
    public static final class Result {
        public final String bundle;
        public final Map<String, Double> worst = new LinkedHashMap<String, Double>();
        public final List<String> failures = new ArrayList<String>();
        public int cases;

        Result(String bundle) {
            this.bundle = bundle;
        }

        void worst(String key, double v) {
            Double old = worst.get(key);
            if (old == null || v > old) worst.put(key, v);
        }

        /** Records {@code v} as a worst-case candidate and a failure if {@code v > tol}. */
        void check(String where, String key, double v, double tol) {
            worst(key, v);
            if (!(v <= tol)) failures.add(where + ": " + key + " " + fmt(v) + " > " + fmt(tol));
        }

        public boolean ok() {
            return failures.isEmpty();
        }
    }

    public static void main(String[] args) {
        if (args.length == 0) {
            System.err.println("usage: GoldenCheck BUNDLE_DIR [BUNDLE_DIR...] (a folder written by mobilekit export --bundle)");
            System.exit(2);
        }
        StringBuilder b = new StringBuilder("{\"ok\":");
        boolean ok = true;
        List<String> parts = new ArrayList<String>();
        int status = 0;
        for (String dir : args) {
            final File root = new File(dir);
            try {
                Golden g = new Golden(new Golden.Source() {
                    public byte[] read(String rel) throws IOException {
                        return Files.readAllBytes(new File(root, rel).toPath());
                    }
                });
                Result r = check(g, dir);
                File artifact = new File(root, Json.str(g.manifest, "artifact", "model.tflite"));
                String want = Json.str(g.manifest, "artifact_sha256", "");
                if (artifact.isFile() && !want.equals(sha256(artifact)))
                    r.failures.add(artifact.getName() + ": SHA-256 differs from golden/manifest.json's artifact_sha256 "
                            + "(golden/ was written for another model: run mobilekit golden " + dir + ")");
                ok &= r.ok();
                parts.add(toJson(r));
            } catch (IOException | RuntimeException e) {
                ok = false;
                status = 2;
                parts.add("{\"bundle\":" + quote(dir) + ",\"error\":" + quote(e.toString()) + "}");
            }
        }
        b.append(ok).append(",\"bundles\":[");
        for (int i = 0; i < parts.size(); i++) b.append(i > 0 ? "," : "").append(parts.get(i));
        b.append("]}");
        System.out.println(b);
        System.exit(ok ? 0 : (status != 0 ? status : 1));
    }

    /** Checks every case of {@code g}; never throws for a numeric mismatch (see {@link Result#failures}). */
    public static Result check(Golden g, String name) throws IOException {
        Result r = new Result(name);
        Contract c = g.contract;
        Map<String, Object> eff = Json.obj(g.manifest, "effects", "golden/manifest.json");
        // the core's constants must equal the toolkit's
        constant(r, "threshold", Json.num(eff, "threshold", "effects"), c.threshold);
        constant(r, "feather_radius_fraction", Json.num(eff, "feather_radius_fraction", "effects"), Effects.FEATHER_RADIUS_FRACTION);
        constant(r, "feather_min_sigma", Json.num(eff, "feather_min_sigma", "effects"), Effects.FEATHER_MIN_SIGMA);
        constant(r, "blur_fraction", Json.num(eff, "blur_fraction", "effects"), Effects.BLUR_FRACTION);
        constant(r, "blur_min_sigma", Json.num(eff, "blur_min_sigma", "effects"), Effects.BLUR_MIN_SIGMA);
        constant(r, "temporal_ema_alpha", Json.num(eff, "temporal_ema_alpha", "effects"), Temporal.EMA_ALPHA);
        // K-class (parsing) bundles, golden format 2: the palette and alpha of the parts overlay must be the toolkit's
        Object partsJson = g.manifest.get("parts");
        int[] palette = null;
        if (partsJson instanceof Map) {
            @SuppressWarnings("unchecked")
            Map<String, Object> parts = (Map<String, Object>) partsJson;
            constant(r, "parts alpha", Json.num(parts, "alpha", "parts"), Effects.PARTS_ALPHA);
            Object pal = parts.get("palette");
            if (!(pal instanceof List) || ((List<?>) pal).size() != c.labels.size())
                throw new IllegalArgumentException("golden/manifest.json parts.palette: expected " + c.labels.size()
                        + " colours (one per label), found " + pal);
            palette = Effects.palette(c.labels.size());
            List<?> cols = (List<?>) pal;
            for (int i = 0; i < palette.length; i++) {
                List<?> rgb = (List<?>) cols.get(i);
                int want = (((Number) rgb.get(0)).intValue() << 16) | (((Number) rgb.get(1)).intValue() << 8)
                        | ((Number) rgb.get(2)).intValue();
                if (want != palette[i])
                    r.failures.add("parts palette[" + i + "]: toolkit " + Integer.toHexString(want) + " != core "
                            + Integer.toHexString(palette[i]));
            }
        }
        if ((palette != null) != c.isMultiClass())
            r.failures.add("contract task " + c.task + " with " + c.labels.size() + " labels: the core decodes it as "
                    + (c.isMultiClass() ? "K-class" : "person") + ", golden/manifest.json " + (palette != null ? "has" : "has no")
                    + " parts (K-class)");
        final int[] partsPalette = palette;
        Map<String, Object> tin = g.tensor("input_tensor"), tout = g.tensor("output_tensor");
        boolean qin = Golden.quantized(tin), qout = Golden.quantized(tout);
        boolean uin = "uint8".equals(Json.str(tin, "dtype", "")), uout = "uint8".equals(Json.str(tout, "dtype", ""));
        for (Golden.Case k : g.cases) {
            r.cases++;
            String at = k.name;
            // 1. source pixels -> input tensor
            Frame upright = ImageOps.orient(k.sourceFrame(), k.rotationDegrees, k.mirror);
            if (upright.width != k.width || upright.height != k.height)
                r.failures.add(at + ": upright size " + upright.width + "x" + upright.height + " != " + k.width + "x" + k.height);
            float[] x = Preprocess.normalize(ImageOps.resize(upright, c.width, c.height), c);
            Golden.Array want = k.load("input_tensor");
            if (want.size() != x.length) {
                r.failures.add(at + ": input tensor has " + want.size() + " values, the contract gives " + x.length);
                continue;
            }
            double maxIn = 0;
            int diff = 0;
            if (qin) {
                byte[] q = Preprocess.quantize(x, (float) Json.num(tin, "scale", "input_tensor"), (int) Json.num(tin, "zero_point", "input_tensor"), uin);
                for (int i = 0; i < q.length; i++) {
                    double d = Math.abs(Preprocess.value(q[i], uin) - want.get(i));
                    maxIn = Math.max(maxIn, d);
                    if (d > 0) diff++;
                }
            } else {
                for (int i = 0; i < x.length; i++) {
                    double d = Math.abs(x[i] - want.get(i));
                    maxIn = Math.max(maxIn, d);
                    if (d > 1e-6) diff++;
                }
            }
            r.check(at, "input_max_abs", maxIn, g.tolerance("input_max_abs"));
            r.check(at, "input_mismatch_fraction", (double) diff / x.length, g.tolerance("input_mismatch_fraction"));
            // 2. stored raw output -> p(person) at model size (and class map)
            Golden.Array raw = k.load("raw_output");
            float[] y = qout ? Postprocess.dequantize(raw.bytes(), (float) Json.num(tout, "scale", "output_tensor"), (int) Json.num(tout, "zero_point", "output_tensor"), uout)
                    : raw.floats();
            boolean multi = partsPalette != null;
            float[] probs = multi ? Postprocess.classProbabilities(y, c) : null;
            float[] pm = multi ? Postprocess.foreground(probs, c.height, c.width) : Postprocess.personProbability(y, c);
            r.check(at, "prob_model_max_abs", maxAbs(Postprocess.foregroundProbability(y, c), pm), 0.0); // the app's path
            r.check(at, "prob_model_max_abs", maxAbs(pm, k.load("prob_model").floats()), g.tolerance("prob_model_max_abs"));
            if (k.has("class_map")) {
                byte[] cm = Postprocess.classMap(multi ? probs : y, c.height, c.width);
                r.check(at, "class_map_mismatch_fraction", mismatch(cm, k.load("class_map").bytes()),
                        g.tolerance(multi ? "class_map_mismatch_fraction" : "mask_mismatch_fraction"));
            }
            if (multi) {
                // K-class: class map at frame size (own upsampling of own probabilities), parts overlay from the golden map
                byte[] goldCmf = k.load("class_map_frame").bytes();
                byte[] cmf = Postprocess.classMapAt(probs, c.width, c.height, k.width, k.height);
                r.check(at, "class_map_frame_mismatch_fraction", mismatch(cmf, goldCmf),
                        g.tolerance("class_map_frame_mismatch_fraction"));
                int[] ov = Effects.partsOverlay(upright.argb, goldCmf, partsPalette, Effects.PARTS_ALPHA);
                double[] d = argbDiff(ov, k.load("parts_argb").ints());
                r.check(at, "parts_max_abs", d[0], g.tolerance("parts_max_abs"));
                r.check(at, "parts_mean_abs", d[1], g.tolerance("parts_mean_abs"));
            }
            // 3. upsampling (from the golden model-size probability) and the end-to-end mask
            float[] goldPf = k.load("prob_frame").floats();
            float[] pf = Postprocess.upsample(k.load("prob_model").floats(), c.width, c.height, k.width, k.height);
            r.check(at, "prob_frame_max_abs", maxAbs(pf, goldPf), g.tolerance("prob_frame_max_abs"));
            byte[] goldMask = k.load("mask").bytes();
            byte[] e2e = Postprocess.mask(Postprocess.upsample(pm, c.width, c.height, k.width, k.height), c.threshold);
            r.check(at, "mask_iou_deficit", 1.0 - Postprocess.iou(e2e, goldMask), 1.0 - g.tolerance("mask_min_iou"));
            // 4. mask and composite from the golden frame-size probability
            byte[] m = Postprocess.mask(goldPf, c.threshold);
            int bad = 0;
            for (int i = 0; i < m.length; i++) if (m[i] != goldMask[i]) bad++;
            r.check(at, "mask_mismatch_fraction", (double) bad / m.length, g.tolerance("mask_mismatch_fraction"));
            double fr = Json.num(k.json, "feather_radius", -1), br = Json.num(k.json, "blur_radius", -1);
            constant(r, at + " feather_radius", fr, Effects.gaussianRadius(Effects.featherSigma(k.width, k.height)));
            constant(r, at + " blur_radius", br, Effects.gaussianRadius(Effects.blurSigma(k.width, k.height)));
            int[] comp = Effects.portraitBlur(upright.argb, goldPf, k.width, k.height, c.threshold);
            int[] goldComp = k.load("composite_argb").ints();
            double maxC = 0, sumC = 0;
            for (int i = 0; i < comp.length; i++) {
                for (int sh = 0; sh <= 24; sh += 8) {
                    int d = Math.abs(((comp[i] >> sh) & 255) - ((goldComp[i] >> sh) & 255));
                    maxC = Math.max(maxC, d);
                    sumC += d;
                }
            }
            r.check(at, "composite_max_abs", maxC, g.tolerance("composite_max_abs"));
            r.check(at, "composite_mean_abs", sumC / (comp.length * 4.0), g.tolerance("composite_mean_abs"));
        }
        if (r.cases == 0) r.failures.add("no golden cases in golden/manifest.json");
        return r;
    }

    static String sha256(File f) throws IOException {
        try {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            byte[] d = md.digest(Files.readAllBytes(f.toPath()));
            StringBuilder b = new StringBuilder();
            for (byte x : d) b.append(String.format(Locale.ROOT, "%02x", x & 0xFF));
            return b.toString();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IOException(e);
        }
    }

    private static void constant(Result r, String what, double toolkit, double core) {
        if (Math.abs(toolkit - core) > 1e-6 * Math.max(1, Math.abs(toolkit)))
            r.failures.add(what + ": toolkit " + fmt(toolkit) + " != core " + fmt(core));
    }

    static double mismatch(byte[] a, byte[] b) {
        if (a.length != b.length) return Double.POSITIVE_INFINITY;
        int bad = 0;
        for (int i = 0; i < a.length; i++) if (a[i] != b[i]) bad++;
        return (double) bad / a.length;
    }

    /** {max, mean} absolute difference over the four 8-bit channels of two ARGB images. */
    static double[] argbDiff(int[] a, int[] b) {
        if (a.length != b.length) return new double[] {Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY};
        double max = 0, sum = 0;
        for (int i = 0; i < a.length; i++) {
            for (int sh = 0; sh <= 24; sh += 8) {
                int d = Math.abs(((a[i] >> sh) & 255) - ((b[i] >> sh) & 255));
                max = Math.max(max, d);
                sum += d;
            }
        }
        return new double[] {max, sum / (a.length * 4.0)};
    }

    static double maxAbs(float[] a, float[] b) {
        if (a.length != b.length) return Double.POSITIVE_INFINITY;
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.6g", v);
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            if (ch == '"' || ch == '\\') b.append('\\').append(ch);
            else if (ch < 0x20) b.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
            else b.append(ch);
        }
        return b.append('"').toString();
    }

    static String toJson(Result r) {
        StringBuilder b = new StringBuilder("{\"bundle\":").append(quote(r.bundle)).append(",\"ok\":").append(r.ok())
                .append(",\"cases\":").append(r.cases).append(",\"worst\":{");
        int i = 0;
        for (Map.Entry<String, Double> e : r.worst.entrySet())
            b.append(i++ > 0 ? "," : "").append(quote(e.getKey())).append(':').append(fmt(e.getValue()));
        b.append("},\"failures\":[");
        for (int j = 0; j < r.failures.size(); j++) b.append(j > 0 ? "," : "").append(quote(r.failures.get(j)));
        return b.append("]}").toString();
    }
}
