package com.mobilekit.demo

import android.os.SystemClock
import com.mobilekit.core.Contract
import com.mobilekit.core.Frame
import com.mobilekit.core.Postprocess
import com.mobilekit.core.Preprocess
import com.mobilekit.core.Temporal
import java.nio.ByteBuffer
import java.nio.ByteOrder
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.gpu.CompatibilityList
import org.tensorflow.lite.gpu.GpuDelegate

/** Which accelerator the interpreter ended up on. */
enum class Delegate { GPU, CPU }

/** Timings of one frame in milliseconds. */
data class Timings(val preMs: Double, val inferenceMs: Double, val postMs: Double)

/**
 * p(person) (K-class models: 1 - p(background)) at the upright frame's size plus the upright frame itself and
 * timings; for K-class (parsing) models also the class probabilities at model size ([modelW] x [modelH] x K).
 */
class Segmentation(
    val upright: Frame,
    val prob: FloatArray,
    val timings: Timings,
    val classProbs: FloatArray? = null,
    val modelW: Int = 0,
    val modelH: Int = 0,
)

/**
 * LiteRT interpreter for one bundle. Pre- and post-processing are the platform-free `:core` (the same code the
 * golden vectors check); this class only moves bytes. GPU is tried first when asked and falls back to the CPU
 * (XNNPACK) when the device or the model is not supported; [delegate] says which one runs.
 */
class Segmenter(private val bundle: ModelBundle, wantGpu: Boolean, threads: Int = 4) : AutoCloseable {
    val contract: Contract = bundle.contract
    private var gpu: GpuDelegate? = null
    private val interpreter: Interpreter
    val delegate: Delegate
    /** Why the GPU was not used (null when it is). */
    val fallbackReason: String?

    private val inType: DataType
    private val outType: DataType
    private val inScale: Float
    private val inZero: Int
    private val outScale: Float
    private val outZero: Int
    private val inBuf: ByteBuffer
    private val outBuf: ByteBuffer
    private val outCount: Int
    private val temporal = Temporal()

    init {
        var reason: String? = null
        var interp: Interpreter? = null
        if (wantGpu) {
            val compat = CompatibilityList()
            if (compat.isDelegateSupportedOnThisDevice) {
                var d: GpuDelegate? = null
                try {
                    d = GpuDelegate(compat.bestOptionsForThisDevice)
                    interp = Interpreter(bundle.mapModel(), Interpreter.Options().addDelegate(d))
                    gpu = d
                } catch (e: Exception) {  // unsupported op, OpenCL/GL failure: fall back to the CPU
                    d?.close()
                    reason = "GPU delegate failed: ${e.message}"
                }
            } else {
                reason = "GPU delegate not supported on this device"
            }
        } else {
            reason = "CPU chosen"
        }
        interpreter = interp ?: Interpreter(bundle.mapModel(), Interpreter.Options().setNumThreads(threads))
        delegate = if (gpu != null) Delegate.GPU else Delegate.CPU
        fallbackReason = reason

        val tin = interpreter.getInputTensor(0)
        val tout = interpreter.getOutputTensor(0)
        val shape = tin.shape()
        require(shape.size == 4 && shape[1] == contract.height && shape[2] == contract.width && shape[3] == contract.channels) {
            "${bundle.dir}/model.tflite: input ${shape.contentToString()} does not match its contract " +
                "(expected [1, ${contract.height}, ${contract.width}, ${contract.channels}], NHWC)"
        }
        inType = tin.dataType(); outType = tout.dataType()
        inScale = tin.quantizationParams().scale; inZero = tin.quantizationParams().zeroPoint
        outScale = tout.quantizationParams().scale; outZero = tout.quantizationParams().zeroPoint
        inBuf = ByteBuffer.allocateDirect(tin.numBytes()).order(ByteOrder.nativeOrder())
        outBuf = ByteBuffer.allocateDirect(tout.numBytes()).order(ByteOrder.nativeOrder())
        outCount = tout.numElements()
    }

    /** Fill the input buffer from a normalised tensor (quantized with the interpreter's scale/zero point). */
    fun setInput(x: FloatArray) {
        inBuf.rewind()
        when (inType) {
            DataType.FLOAT32 -> inBuf.asFloatBuffer().put(x)
            DataType.UINT8 -> inBuf.put(Preprocess.quantize(x, inScale, inZero, true))
            DataType.INT8 -> inBuf.put(Preprocess.quantize(x, inScale, inZero, false))
            else -> error("input type $inType is not supported (float32, uint8, int8)")
        }
        inBuf.rewind()
    }

    /** Run the interpreter on the current input; returns the dequantized output (NHWC, batch 1). */
    fun invoke(): FloatArray {
        outBuf.rewind()
        interpreter.run(inBuf, outBuf)
        outBuf.rewind()
        return when (outType) {
            DataType.FLOAT32 -> FloatArray(outCount).also { outBuf.asFloatBuffer().get(it) }
            DataType.UINT8, DataType.INT8 -> {
                val q = ByteArray(outCount).also { outBuf.get(it) }
                Postprocess.dequantize(q, outScale, outZero, outType == DataType.UINT8)
            }
            else -> error("output type $outType is not supported (float32, uint8, int8)")
        }
    }

    /** Camera frame -> p(person) at the upright frame's size, optionally smoothed over time (EMA). */
    fun segment(frame: Frame, rotationDegrees: Int, mirror: Boolean, smooth: Boolean): Segmentation {
        val t0 = SystemClock.elapsedRealtimeNanos()
        val upright = com.mobilekit.core.ImageOps.orient(frame, rotationDegrees, mirror)
        setInput(Preprocess.normalize(com.mobilekit.core.ImageOps.resize(upright, contract.width, contract.height), contract))
        val t1 = SystemClock.elapsedRealtimeNanos()
        val out = invoke()
        val t2 = SystemClock.elapsedRealtimeNanos()
        var p = Postprocess.foregroundProbability(out, contract)
        p = Postprocess.upsample(p, contract.width, contract.height, upright.width, upright.height)
        if (smooth) p = temporal.update(p) else temporal.reset()
        val t3 = SystemClock.elapsedRealtimeNanos()
        val probs = if (contract.isMultiClass()) Postprocess.classProbabilities(out, contract) else null
        return Segmentation(upright, p, Timings((t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6),
            probs, contract.width, contract.height)
    }

    override fun close() {
        interpreter.close()
        gpu?.close()
    }
}
