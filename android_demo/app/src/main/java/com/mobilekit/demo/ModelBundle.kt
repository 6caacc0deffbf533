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
 * Nothing about a model is compiled into the app: everything comes from the contract, read from `metadata.json`
 * when the bundle has one, else from the copy mobilekit embeds in every `.tflite` (`mobilekit_metadata.json`,
 * a TFLite metadata associated file), so a lone `model.tflite` is enough. When both exist they must agree
 * ([Contract.load] names the differing fields).
 */
class ModelBundle(private val assets: AssetManager, val name: String) {
    val dir = "$ROOT/$name"
    val contract: Contract = Contract.load(readOrNull(METADATA_FILE), read(MODEL_FILE), "$dir/$METADATA_FILE", MODEL_FILE)
        ?: throw IOException("$dir/$MODEL_FILE: no $METADATA_FILE beside it and no contract embedded in it " +
            "(export it with mobilekit export --target tflite-..., which embeds the contract)")
    val hasGolden: Boolean = assets.list("$dir/golden")?.contains("manifest.json") == true

    fun read(relative: String): ByteArray = assets.open("$dir/$relative").use { it.readBytes() }

    private fun readOrNull(relative: String): ByteArray? = try { read(relative) } catch (e: IOException) { null }

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
        const val METADATA_FILE = "metadata.json"

        /** Every folder of `assets/models/` that holds a `model.tflite` (its contract: metadata.json or embedded). */
        fun list(context: Context): List<String> {
            val assets = context.assets
            return (assets.list(ROOT) ?: emptyArray()).filter { name ->
                val files = try { assets.list("$ROOT/$name")?.toSet() ?: emptySet() } catch (e: IOException) { emptySet() }
                MODEL_FILE in files
            }.sorted()
        }
    }
}
