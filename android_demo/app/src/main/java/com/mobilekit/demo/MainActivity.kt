package com.mobilekit.demo

import android.Manifest
import android.content.pm.PackageManager
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.os.Bundle
import android.os.SystemClock
import android.util.Size
import androidx.activity.ComponentActivity
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.compose.setContent
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.resolutionselector.ResolutionSelector
import androidx.camera.core.resolutionselector.ResolutionStrategy
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.compose.foundation.Image
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.DropdownMenu
import androidx.compose.material3.DropdownMenuItem
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Surface
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.unit.dp
import androidx.core.content.ContextCompat
import androidx.lifecycle.compose.LocalLifecycleOwner
import com.mobilekit.core.Effects
import com.mobilekit.core.Frame
import java.util.Locale
import java.util.concurrent.Executors

/** The three effects of the demo; all of them are `:core` functions on ARGB. */
enum class Effect(val label: String) { BLUR("Blur"), REPLACE("Replace"), OVERLAY("Overlay"), PARTS("Parts") }

/** What the screen shows. */
enum class Screen { CAMERA, PHOTO, SELF_TEST }

/** Longest side of live camera output: the exact background blur (GOLDEN.md) costs O(pixels * sigma). */
const val LIVE_MAX_SIDE = 360

/** [seg] scaled down so that its longer side is at most [maxSide] (area resize of pixels, bilinear of p). */
fun downscale(seg: Segmentation, maxSide: Int): Segmentation {
    val f = seg.upright
    val side = maxOf(f.width, f.height)
    if (side <= maxSide) return seg
    val w = maxOf(1, f.width * maxSide / side)
    val h = maxOf(1, f.height * maxSide / side)
    val small = com.mobilekit.core.ImageOps.resize(f, w, h)
    return Segmentation(small, com.mobilekit.core.Postprocess.upsample(seg.prob, f.width, f.height, w, h), seg.timings,
        seg.classProbs, seg.modelW, seg.modelH)
}

/** Renders [seg] with [effect]; returns ARGB at the upright frame's size. */
fun render(seg: Segmentation, effect: Effect, threshold: Float): Frame {
    val f = seg.upright
    val out = when (effect) {
        Effect.BLUR -> Effects.portraitBlur(f.argb, seg.prob, f.width, f.height, threshold)
        Effect.REPLACE -> Effects.replaceBackground(f.argb, gradient(f.width, f.height), seg.prob, f.width, f.height, threshold)
        Effect.OVERLAY -> Effects.overlay(f.argb, seg.prob, threshold, 0xFFFF2878.toInt(), 0.5f)
        // K-class models: class map at frame size (GOLDEN.md steps 12-13); person models: the plain overlay
        Effect.PARTS -> seg.classProbs?.let { probs ->
            val cm = com.mobilekit.core.Postprocess.classMapAt(probs, seg.modelW, seg.modelH, f.width, f.height)
            Effects.partsOverlay(f.argb, cm, Effects.palette(probs.size / (seg.modelW * seg.modelH)), Effects.PARTS_ALPHA)
        } ?: Effects.overlay(f.argb, seg.prob, threshold, 0xFFFF2878.toInt(), 0.5f)
    }
    return Frame(out, f.width, f.height)
}

private fun gradient(w: Int, h: Int): IntArray = IntArray(w * h) { i ->
    val y = i / w
    val t = y * 255 / maxOf(1, h - 1)
    (0xFF shl 24) or ((40 + t / 3) shl 16) or ((90 + t / 4) shl 8) or (200 - t / 2)
}

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContent { MaterialTheme { Surface(Modifier.fillMaxSize()) { DemoApp() } } }
    }
}

@Composable
fun DemoApp() {
    val context = LocalContext.current
    val models = remember { ModelBundle.list(context) }
    if (models.isEmpty()) {
        Text(
            "No model in assets/models/. Install one with:\n" +
                "mobilekit export --target tflite-fp32 --bundle android_demo/app/src/main/assets/models/NAME\n" +
                "and rebuild (see android_demo/README.md).",
            Modifier.padding(16.dp),
        )
        return
    }
    var modelName by remember { mutableStateOf(models.first()) }
    var useGpu by remember { mutableStateOf(true) }
    var effect by remember { mutableStateOf(Effect.BLUR) }
    var front by remember { mutableStateOf(false) }
    var smooth by remember { mutableStateOf(true) }
    var screen by remember { mutableStateOf(Screen.CAMERA) }
    var output by remember { mutableStateOf<Bitmap?>(null) }
    var stats by remember { mutableStateOf("") }
    var report by remember { mutableStateOf<SelfTestReport?>(null) }

    val bundle = remember(modelName) { ModelBundle(context.assets, modelName) }
    val loaded = remember(modelName, useGpu) { runCatching { Segmenter(bundle, useGpu) } }
    val segmenter = loaded.getOrNull()
    val error = loaded.exceptionOrNull()?.let { "${bundle.dir}: ${it.message}" }
    DisposableEffect(segmenter) { onDispose { segmenter?.close() } }

    val pickPhoto = rememberLauncherForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null && segmenter != null) {
            val bmp = context.contentResolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it) }
            if (bmp != null) {
                val seg = segmenter.segment(bmp.copy(Bitmap.Config.ARGB_8888, false).toFrame(), 0, false, smooth = false)
                output = render(seg, effect, segmenter.contract.threshold).toBitmap()
                stats = statsLine(seg.timings, segmenter, null)
                screen = Screen.PHOTO
            }
        }
    }

    Column(Modifier.fillMaxSize().padding(8.dp), verticalArrangement = Arrangement.spacedBy(6.dp)) {
        Row(horizontalArrangement = Arrangement.spacedBy(6.dp)) {
            ModelPicker(models, modelName) { modelName = it; report = null }
            FilterChip(selected = useGpu, onClick = { useGpu = !useGpu }, label = { Text(if (useGpu) "GPU" else "CPU") })
            FilterChip(selected = front, onClick = { front = !front }, label = { Text(if (front) "Front" else "Back") })
        }
        Row(horizontalArrangement = Arrangement.spacedBy(6.dp)) {
            Effect.values().forEach { e -> FilterChip(selected = effect == e, onClick = { effect = e }, label = { Text(e.label) }) }
            Text("EMA", Modifier.padding(top = 12.dp)); Switch(checked = smooth, onCheckedChange = { smooth = it })
        }
        Row(horizontalArrangement = Arrangement.spacedBy(6.dp)) {
            Button(onClick = { screen = Screen.CAMERA }) { Text("Camera") }
            Button(onClick = { pickPhoto.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly)) }) { Text("Photo") }
            Button(enabled = bundle.hasGolden && segmenter != null, onClick = {
                screen = Screen.SELF_TEST
                report = segmenter?.let { SelfTest.run(bundle, it) }
            }) { Text("Self-test") }
        }
        error?.let { Text("error: $it", color = MaterialTheme.colorScheme.error) }
        Text(stats, style = MaterialTheme.typography.bodySmall)
        when (screen) {
            Screen.CAMERA -> if (segmenter != null) CameraEffect(segmenter, front, effect, smooth, onFrame = { bmp, line ->
                output = bmp; stats = line
            })
            Screen.SELF_TEST -> report?.let { SelfTestView(it) }
            Screen.PHOTO -> Unit
        }
        if (screen != Screen.SELF_TEST) output?.let { Image(it.asImageBitmap(), contentDescription = "result", Modifier.fillMaxWidth()) }
    }
}

@Composable
private fun ModelPicker(models: List<String>, selected: String, onPick: (String) -> Unit) {
    var open by remember { mutableStateOf(false) }
    Button(onClick = { open = true }) { Text(selected) }
    DropdownMenu(expanded = open, onDismissRequest = { open = false }) {
        models.forEach { m -> DropdownMenuItem(text = { Text(m) }, onClick = { open = false; onPick(m) }) }
    }
}

private fun statsLine(t: Timings, s: Segmenter, fps: Double?): String = String.format(
    Locale.ROOT, "pre %.1f ms · inference %.1f ms · post %.1f ms%s · %s%s",
    t.preMs, t.inferenceMs, t.postMs, fps?.let { String.format(Locale.ROOT, " · %.1f FPS", it) } ?: "",
    s.delegate, s.fallbackReason?.takeIf { s.delegate == Delegate.CPU }?.let { " ($it)" } ?: "",
)

/**
 * CameraX ImageAnalysis in RGBA_8888, keep-only-latest: each frame is segmented in sensor orientation with its
 * rotationDegrees, mirrored for the front camera, and rendered with the effect.
 */
@Composable
private fun CameraEffect(segmenter: Segmenter, front: Boolean, effect: Effect, smooth: Boolean, onFrame: (Bitmap, String) -> Unit) {
    val context = LocalContext.current
    val owner = LocalLifecycleOwner.current
    var granted by remember {
        mutableStateOf(ContextCompat.checkSelfPermission(context, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED)
    }
    val ask = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { granted = it }
    LaunchedEffect(Unit) { if (!granted) ask.launch(Manifest.permission.CAMERA) }
    if (!granted) {
        Text("Camera permission is needed for the live view (photos work without it).")
        return
    }
    DisposableEffect(segmenter, front, effect, smooth) {
        val executor = Executors.newSingleThreadExecutor()
        val providerFuture = ProcessCameraProvider.getInstance(context)
        var lastNs = 0L
        var fps = 0.0
        val analysis = ImageAnalysis.Builder()
            .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
            .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
            .setResolutionSelector(ResolutionSelector.Builder()
                .setResolutionStrategy(ResolutionStrategy(Size(640, 480), ResolutionStrategy.FALLBACK_RULE_CLOSEST_HIGHER_THEN_LOWER))
                .build())
            .build()
        analysis.setAnalyzer(executor) { image ->
            image.use {
                val seg = segmenter.segment(it.toFrame(), it.imageInfo.rotationDegrees, mirror = front, smooth = smooth)
                val bmp = render(downscale(seg, LIVE_MAX_SIDE), effect, segmenter.contract.threshold).toBitmap()
                val now = SystemClock.elapsedRealtimeNanos()
                if (lastNs != 0L) fps = 0.9 * fps + 0.1 * (1e9 / (now - lastNs))
                lastNs = now
                ContextCompat.getMainExecutor(context).execute { onFrame(bmp, statsLine(seg.timings, segmenter, fps)) }
            }
        }
        providerFuture.addListener({
            val provider = providerFuture.get()
            provider.unbindAll()
            val selector = if (front) CameraSelector.DEFAULT_FRONT_CAMERA else CameraSelector.DEFAULT_BACK_CAMERA
            provider.bindToLifecycle(owner, selector, analysis)
        }, ContextCompat.getMainExecutor(context))
        onDispose {
            analysis.clearAnalyzer()
            if (providerFuture.isDone) providerFuture.get().unbindAll()
            executor.shutdown()
        }
    }
}

@Composable
private fun SelfTestView(r: SelfTestReport) {
    Column(Modifier.verticalScroll(rememberScrollState())) {
        Text("${r.model} on ${r.delegate}: ${if (r.passed) "PASS" else "FAIL"}", style = MaterialTheme.typography.titleMedium)
        r.cases.forEach { c ->
            Text(String.format(Locale.ROOT, "%-22s max |Δp| %.4f  mask IoU %.4f  %s", c.name, c.maxAbsDp, c.maskIou,
                if (c.passed) "ok" else "DRIFT"))
        }
        r.advice?.let { Text(it, color = MaterialTheme.colorScheme.error) }
    }
}
