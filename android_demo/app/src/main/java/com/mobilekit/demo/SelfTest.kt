package com.mobilekit.demo

import com.mobilekit.core.ImageOps
import com.mobilekit.core.Postprocess
import com.mobilekit.core.Preprocess

/** Result of one golden case run through the interpreter on the chosen delegate. */
data class CaseResult(val name: String, val maxAbsDp: Double, val maskIou: Double, val passed: Boolean)

/** Self-test of one bundle: its golden cases through `:core` and the interpreter, against mobilekit's outputs. */
data class SelfTestReport(val model: String, val delegate: Delegate, val outputKind: String, val cases: List<CaseResult>) {
    val passed: Boolean get() = cases.isNotEmpty() && cases.all { it.passed }

    /**
     * A softmax head drifting on the GPU delegate is the known failure (fp16 softmax on mobile GPUs);
     * re-exporting with a sigmoid head removes the softmax.
     */
    val advice: String?
        get() = when {
            passed -> null
            delegate == Delegate.GPU && outputKind == "softmax" ->
                "GPU drift on a softmax head: re-export with `mobilekit export --head sigmoid` (or use the CPU)"
            delegate == Delegate.GPU -> "GPU drift: compare with the CPU delegate; fp16 GPU math may be too coarse for this model"
            else -> "CPU output differs from mobilekit's: the bundle's model.tflite and golden/ do not belong together"
        }
}

object SelfTest {
    /** Max |dp| on the GPU: fp16 arithmetic; on the CPU the same LiteRT kernels as the toolkit run. */
    const val GPU_MAX_ABS_DP = 0.05
    const val CPU_MAX_ABS_DP = 1e-3
    /** Mask IoU at model size against the golden mask. */
    const val MIN_MASK_IOU = 0.98

    fun run(bundle: ModelBundle, segmenter: Segmenter): SelfTestReport {
        val golden = bundle.golden()
        val c = segmenter.contract
        val results = golden.cases.map { k ->
            val upright = ImageOps.orient(k.sourceFrame(), k.rotationDegrees, k.mirror)
            segmenter.setInput(Preprocess.normalize(ImageOps.resize(upright, c.width, c.height), c))
            val p = Postprocess.foregroundProbability(segmenter.invoke(), c)
            val want = k.load("prob_model").floats()
            var maxAbs = 0.0
            for (i in p.indices) maxAbs = maxOf(maxAbs, Math.abs((p[i] - want[i]).toDouble()))
            val iou = Postprocess.iou(Postprocess.mask(p, c.threshold), Postprocess.mask(want, c.threshold))
            val tol = if (segmenter.delegate == Delegate.GPU) GPU_MAX_ABS_DP else CPU_MAX_ABS_DP
            CaseResult(k.name, maxAbs, iou, maxAbs <= tol && iou >= MIN_MASK_IOU)
        }
        return SelfTestReport(bundle.name, segmenter.delegate, c.kind, results)
    }
}
