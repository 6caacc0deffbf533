package com.mobilekit.core;

/** An image as {@code int[]} ARGB ({@code 0xAARRGGBB}, row-major, as Android's {@code Bitmap.getPixels} gives). */
public final class Frame {
    public final int[] argb;
    public final int width, height;

    public Frame(int[] argb, int width, int height) {
        if (argb.length != width * height)
            throw new IllegalArgumentException("frame: expected " + width + "x" + height + " = " + (width * height) + " pixels, found " + argb.length);
        this.argb = argb;
        this.width = width;
        this.height = height;
    }
}
