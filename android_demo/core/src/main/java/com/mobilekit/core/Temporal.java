package com.mobilekit.core;

/**
 * Exponential moving average of p(person) across camera frames:
 * {@code s_t = EMA_ALPHA * p_t + (1 - EMA_ALPHA) * s_(t-1)}, {@code s_0 = p_0}; reset when the size changes.
 * The constant equals mobilekit's {@code mobile_kit.effects.temporal.EMA_ALPHA} (GoldenCheck verifies it).
 */
public final class Temporal {
    /** Weight of the newest frame. */
    public static final float EMA_ALPHA = 0.5f;

    private final float alpha;
    private float[] state;

    public Temporal() {
        this(EMA_ALPHA);
    }

    public Temporal(float alpha) {
        if (!(alpha > 0 && alpha <= 1)) throw new IllegalArgumentException("EMA alpha: expected a value in (0, 1], found " + alpha);
        this.alpha = alpha;
    }

    /** Feed one probability map and return the smoothed one (a new array). */
    public float[] update(float[] p) {
        if (state == null || state.length != p.length) {
            state = p.clone();
        } else {
            for (int i = 0; i < p.length; i++) state[i] = alpha * p[i] + (1 - alpha) * state[i];
        }
        return state.clone();
    }

    /** Forget the history (camera switched, model changed). */
    public void reset() {
        state = null;
    }
}
