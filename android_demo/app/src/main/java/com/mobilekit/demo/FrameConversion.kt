package com.mobilekit.demo

import android.graphics.Bitmap
import androidx.camera.core.ImageProxy
import com.mobilekit.core.Frame

/** CameraX RGBA_8888 [ImageProxy] (one plane, rows padded to rowStride) -> `:core` ARGB [Frame] in sensor orientation. */
fun ImageProxy.toFrame(): Frame {
    val plane = planes[0]
    val buf = plane.buffer.duplicate()
    val rowStride = plane.rowStride
    val pixelStride = plane.pixelStride  // 4 for RGBA_8888
    val out = IntArray(width * height)
    val row = ByteArray(rowStride)
    for (y in 0 until height) {
        buf.position(y * rowStride)
        buf.get(row, 0, minOf(rowStride, buf.remaining()))
        for (x in 0 until width) {
            val i = x * pixelStride
            val r = row[i].toInt() and 255
            val g = row[i + 1].toInt() and 255
            val b = row[i + 2].toInt() and 255
            out[y * width + x] = (0xFF shl 24) or (r shl 16) or (g shl 8) or b
        }
    }
    return Frame(out, width, height)
}

fun Bitmap.toFrame(): Frame {
    val px = IntArray(width * height)
    getPixels(px, 0, width, 0, 0, width, height)
    return Frame(px, width, height)
}

fun Frame.toBitmap(): Bitmap = Bitmap.createBitmap(argb, width, height, Bitmap.Config.ARGB_8888)
