package com.mobilekit.demo

import android.content.Context
import android.content.res.AssetManager
import com.mobilekit.core.Contract
import com.mobilekit.core.Golden
import java.io.FileInputStream
import java.io.IOException
import java.nio.MappedByteBuffer
import java.nio.channels.FileChannel

/**
 * One exported bundle in `assets/models/<name>/`, as written by
 * `mobilekit export --target tflite-... --bundle android_demo/app/src/main/assets/models/<name>`:
 * `model.tflite`, `metadata.json` (the contract), `labels.txt` and `golden/`.
 * Nothing about a model is compiled into the app: everything comes from `metadata.json`.
 */
class ModelBundle(private val assets: AssetManager, val name: String) {
    val dir = "$ROOT/$name"
    val contract: Contract = Contract.parse(String(read("metadata.json"), Charsets.UTF_8))
    val hasGolden: Boolean = assets.list("$dir/golden")?.contains("manifest.json") == true

    fun read(relative: String): ByteArray = assets.open("$dir/$relative").use { it.readBytes() }

    /** The model memory-mapped from the APK (the asset is stored uncompressed, see app/build.gradle.kts). */
    fun mapModel(): MappedByteBuffer {
        val fd = assets.openFd("$dir/$MODEL_FILE")
        return FileInputStream(fd.fileDescriptor).use { stream ->
            stream.channel.map(FileChannel.MapMode.READ_ONLY, fd.startOffset, fd.declaredLength)
        }
    }

    /** The golden vectors of this bundle (throws if the bundle has none). */
    fun golden(): Golden = Golden(Golden.Source { rel -> read(rel) })

    companion object {
        const val ROOT = "models"
        const val MODEL_FILE = "model.tflite"

        /** Every folder of `assets/models/` that holds a `model.tflite` and a `metadata.json`. */
        fun list(context: Context): List<String> {
            val assets = context.assets
            return (assets.list(ROOT) ?: emptyArray()).filter { name ->
                val files = try { assets.list("$ROOT/$name")?.toSet() ?: emptySet() } catch (e: IOException) { emptySet() }
                MODEL_FILE in files && "metadata.json" in files
            }.sorted()
        }
    }
}
