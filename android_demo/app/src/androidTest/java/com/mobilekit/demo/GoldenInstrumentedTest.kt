package com.mobilekit.demo

import androidx.test.ext.junit.runners.AndroidJUnit4
import androidx.test.platform.app.InstrumentationRegistry
import com.mobilekit.core.GoldenCheck
import org.junit.Assert.assertTrue
import org.junit.Assume.assumeTrue
import org.junit.Test
import org.junit.runner.RunWith

/**
 * On a device: every bundled model's golden cases through `:core` (GoldenCheck, as on the desktop) and through
 * the LiteRT interpreter on the CPU (must match mobilekit's outputs) and on the GPU delegate (reported; a drifting
 * softmax head fails with the re-export advice).
 */
@RunWith(AndroidJUnit4::class)
class GoldenInstrumentedTest {
    private val context = InstrumentationRegistry.getInstrumentation().targetContext
    private val models = ModelBundle.list(context)

    @Test
    fun coreReproducesTheGoldenVectors() {
        assumeTrue("no model in assets/models", models.isNotEmpty())
        for (name in models) {
            val bundle = ModelBundle(context.assets, name)
            assumeTrue("$name has no golden/", bundle.hasGolden)
            val r = GoldenCheck.check(bundle.golden(), name)
            assertTrue("$name: ${r.failures}", r.ok())
        }
    }

    @Test
    fun interpreterOnCpuMatchesTheToolkit() {
        assumeTrue("no model in assets/models", models.isNotEmpty())
        for (name in models) {
            val bundle = ModelBundle(context.assets, name)
            if (!bundle.hasGolden) continue
            Segmenter(bundle, wantGpu = false).use { s ->
                val r = SelfTest.run(bundle, s)
                assertTrue("$name on CPU: ${r.cases}", r.passed)
            }
        }
    }

    @Test
    fun gpuDelegateDriftIsFlaggedWithTheFix() {
        assumeTrue("no model in assets/models", models.isNotEmpty())
        for (name in models) {
            val bundle = ModelBundle(context.assets, name)
            if (!bundle.hasGolden) continue
            Segmenter(bundle, wantGpu = true).use { s ->
                val r = SelfTest.run(bundle, s)
                if (!r.passed && s.delegate == Delegate.GPU && r.outputKind == "softmax") {
                    assertTrue(r.advice!!.contains("mobilekit export --head sigmoid"))
                }
                if (s.delegate == Delegate.GPU) assertTrue("$name on GPU: ${r.cases} ${r.advice}", r.passed || r.outputKind == "softmax")
            }
        }
    }
}
