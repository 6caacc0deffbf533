// :core — pure Java 8, no Android imports, no dependencies: contract parsing, pre/post-processing, effects,
// golden-vector check. Also builds with plain javac (see tests/apps/test_android_core.py).
plugins {
    `java-library`
}

java {
    sourceCompatibility = JavaVersion.VERSION_1_8
    targetCompatibility = JavaVersion.VERSION_1_8
}

dependencies {
    testImplementation(libs.junit)
}

// ./gradlew :core:goldenCheck -Pbundle=app/src/main/assets/models/NAME
tasks.register<JavaExec>("goldenCheck") {
    group = "verification"
    description = "Runs GoldenCheck on the bundle given with -Pbundle=DIR"
    classpath = sourceSets["main"].runtimeClasspath
    mainClass.set("com.mobilekit.core.GoldenCheck")
    args(listOf(project.findProperty("bundle")?.toString() ?: "../app/src/main/assets/models"))
}
