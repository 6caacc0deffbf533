package com.mobilekit.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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
    /** Output channel holding the person class when there is more than one channel. */
    public final int personIndex;
    /** p(person) above which a pixel is person. */
    public final float threshold;
    /** Model name (for display). */
    public final String name;

    public Contract(int height, int width, int channels, float[] scale, float[] offset, String channelOrder,
                    String layout, String kind, List<String> labels, int personIndex, float threshold, String name) {
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
        int person = (int) Json.num(out, "person_index", labels.size() > 1 ? 1 : 0);
        if (labels.size() > 1 && (person < 0 || person >= labels.size()))
            throw new IllegalArgumentException("contract output person_index: expected 0.." + (labels.size() - 1) + ", found " + person);
        return new Contract(h, w, c, sc, of, Json.str(in, "channel_order", "RGB"), Json.str(in, "layout", "NHWC"),
                kind, labels, person, (float) Json.num(out, "threshold", 0.5), Json.str(m, "name", "model"));
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
