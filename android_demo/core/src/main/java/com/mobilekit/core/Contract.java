package com.mobilekit.core;

import java.io.IOException;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The model contract: how a frame becomes the input tensor and how the output becomes p(person).
 * Read from {@code metadata.json} (written by mobilekit beside every artifact) or from the contract
 * JSON embedded in the artifact ({@code {"input": {...}, "output": {...}}}). Nothing about a model is
 * hard-coded: size, channels, normalisation, channel order, output kind, labels and threshold come from here.
 */
public final class Contract {
    /** Model input height and width in pixels. */
    public final int height, width;
    /** 3 (colour) or 1 (grayscale, ITU-R 601 luma). */
    public final int channels;
    /** Per-channel {@code x = pixel * scale[c] + offset[c]}, pixel 0..255, channels in {@link #channelOrder}. */
    public final float[] scale, offset;
    /** "RGB", "BGR" or "GRAY". */
    public final String channelOrder;
    /** "NHWC" (apps need NHWC). */
    public final String layout;
    /** "softmax", "sigmoid" or "logits". */
    public final String kind;
    /** Class names in output channel order. */
    public final List<String> labels;
    /** Output channel holding the foreground class when there is more than one channel ({@code output.foreground_index}). */
    public final int personIndex;
    /** p(person) above which a pixel is person. */
    public final float threshold;
    /** Model name (for display). */
    public final String name;
    /** The model's task ({@code metadata.json} {@code task.name}; v1 metadata: "person"). */
    public final String task;

    public Contract(int height, int width, int channels, float[] scale, float[] offset, String channelOrder,
                    String layout, String kind, List<String> labels, int personIndex, float threshold, String name) {
        this(height, width, channels, scale, offset, channelOrder, layout, kind, labels, personIndex, threshold, name, "person");
    }

    public Contract(int height, int width, int channels, float[] scale, float[] offset, String channelOrder,
                    String layout, String kind, List<String> labels, int personIndex, float threshold, String name,
                    String task) {
        if (height <= 0 || width <= 0) throw new IllegalArgumentException("contract input: expected a positive size, found " + height + "x" + width);
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("contract input channels: expected 1 or 3, found " + channels);
        if (!"softmax".equals(kind) && !"sigmoid".equals(kind) && !"logits".equals(kind))
            throw new IllegalArgumentException("contract output kind: expected softmax, sigmoid or logits, found " + kind);
        this.height = height;
        this.width = width;
        this.channels = channels;
        this.scale = scale;
        this.offset = offset;
        this.channelOrder = channels == 1 ? "GRAY" : channelOrder;
        this.layout = layout;
        this.kind = kind;
        this.labels = labels;
        this.personIndex = personIndex;
        this.threshold = threshold;
        this.name = name;
        this.task = task == null ? "person" : task;
    }

    /**
     * A K-class (body-part parsing) model: a task other than person with more than two labels. Its outputs are
     * decoded to class maps ({@link Postprocess#classProbabilities}) and its foreground is {@code 1 - p(class 0)}.
     */
    public boolean isMultiClass() {
        return labels.size() > 2 && !"person".equals(task);
    }

    /** Fields that metadata.json and the contract embedded in the model must agree on (as mobile_kit/runtime.py). */
    public static final List<String> CONTRACT_FIELDS =
            Arrays.asList("name", "version", "target", "precision", "input", "output");

    /**
     * The model's contract: {@code metadata.json} beside the model when there is one, else the contract embedded in
     * the {@code .tflite} ({@link EmbeddedFiles#CONTRACT_FILE}), else {@code null}. Mirrors
     * {@code mobile_kit.runtime.load_metadata_for}.
     *
     * @param sidecar the bytes of metadata.json, or {@code null} when the model has none beside it
     * @param model the bytes of the .tflite, or {@code null}
     * @param sidecarName, modelName used in messages
     * @throws IllegalArgumentException both exist and disagree on a contract field ({@link #CONTRACT_FIELDS});
     *     the one-line message names the differing fields (e.g. {@code input.scale, output.labels})
     * @throws IOException the embedded archive is damaged
     */
    public static Contract load(byte[] sidecar, byte[] model, String sidecarName, String modelName) throws IOException {
        Map<String, Object> beside = sidecar == null ? null : Json.parseObject(new String(sidecar, UTF8));
        byte[] packed = model == null ? null : EmbeddedFiles.read(model, EmbeddedFiles.CONTRACT_FILE);
        Map<String, Object> inside = packed == null ? null : Json.parseObject(new String(packed, UTF8));
        if (beside == null && inside == null) return null;
        if (beside != null && inside != null) {
            List<String> diff = new ArrayList<String>();
            for (String k : CONTRACT_FIELDS) differences(beside.get(k), inside.get(k), k, diff);
            if (!diff.isEmpty())
                throw new IllegalArgumentException(sidecarName + ": disagrees with the contract embedded in " + modelName + " on "
                        + String.join(", ", diff) + "; re-export, or remove the stale metadata.json");
        }
        return fromMap(beside != null ? beside : inside);
    }

    private static final Charset UTF8 = Charset.forName("UTF-8");

    @SuppressWarnings("unchecked")
    private static void differences(Object a, Object b, String path, List<String> out) {
        if (a instanceof Map && b instanceof Map) {
            Map<String, Object> x = (Map<String, Object>) a, y = (Map<String, Object>) b;
            TreeSet<String> keys = new TreeSet<String>(x.keySet());
            keys.addAll(y.keySet());
            for (String k : keys) differences(x.get(k), y.get(k), path + "." + k, out);
        } else if (a instanceof Double && b instanceof Double) {
            double u = (Double) a, v = (Double) b;
            if (!(Math.abs(u - v) <= 1e-12 * Math.max(1.0, Math.abs(u)))) out.add(path);
        } else if (a instanceof List && b instanceof List && ((List<?>) a).size() == ((List<?>) b).size()) {
            List<?> x = (List<?>) a, y = (List<?>) b;
            List<String> sub = new ArrayList<String>();
            for (int i = 0; i < x.size(); i++) differences(x.get(i), y.get(i), path, sub);
            if (!sub.isEmpty()) out.add(path);
        } else if (a == null ? b != null : !a.equals(b)) {
            out.add(path);
        }
    }

    /** Parses {@code metadata.json} text or an embedded contract object. */
    public static Contract parse(String jsonText) {
        return fromMap(Json.parseObject(jsonText));
    }

    /** From a parsed {@code metadata.json} or {@code {"input":..., "output":...}} (extra keys are ignored). */
    public static Contract fromMap(Map<String, Object> m) {
        Map<String, Object> in = Json.obj(m, "input", "contract");
        Map<String, Object> out = Json.obj(m, "output", "contract");
        int h = (int) Json.num(in, "height", "contract input");
        int w = (int) Json.num(in, "width", "contract input");
        int c = (int) Json.num(in, "channels", 3);
        float[] sc = perChannel(in.get("scale"), c, 1.0 / 255.0, "scale");
        float[] of = perChannel(in.get("offset"), c, 0.0, "offset");
        List<String> labels = new ArrayList<String>();
        Object l = out.get("labels");
        if (l instanceof List) for (Object o : (List<?>) l) labels.add(String.valueOf(o));
        String kind = Json.str(out, "kind", "softmax");
        // foreground_index; contracts written before it was renamed carry person_index (read when it is absent)
        String indexKey = out.containsKey("foreground_index") ? "foreground_index" : "person_index";
        int person = (int) Json.num(out, indexKey, labels.size() > 1 ? 1 : 0);
        if (labels.size() > 1 && (person < 0 || person >= labels.size()))
            throw new IllegalArgumentException("contract output " + indexKey + ": expected 0.." + (labels.size() - 1) + ", found " + person);
        return new Contract(h, w, c, sc, of, Json.str(in, "channel_order", "RGB"), Json.str(in, "layout", "NHWC"),
                kind, labels, person, (float) Json.num(out, "threshold", 0.5), Json.str(m, "name", "model"),
                m.get("task") instanceof Map ? Json.str(Json.obj(m, "task", "contract"), "name", "person") : "person");
    }

    private static float[] perChannel(Object v, int channels, double dflt, String what) {
        float[] r = new float[channels];
        if (v instanceof List) {
            List<?> a = (List<?>) v;
            if (a.size() != channels)
                throw new IllegalArgumentException("contract input " + what + ": expected " + channels + " values, found " + a.size());
            for (int k = 0; k < channels; k++) r[k] = (float) ((Double) a.get(k)).doubleValue();
        } else {
            double d = v instanceof Double ? (Double) v : dflt;
            for (int k = 0; k < channels; k++) r[k] = (float) d;
        }
        return r;
    }

    /** Number of values in one input tensor ({@code height * width * channels}). */
    public int inputSize() {
        return height * width * channels;
    }
}
