// Versions are pinned here and listed in README.md; change both together.
plugins {
    id("com.android.application") version "8.5.2" apply false
    id("org.jetbrains.kotlin.android") version "1.9.24" apply false
    id("org.jetbrains.kotlin.jvm") version "1.9.24" apply false
    id("com.google.gms.google-services") version "4.4.2" apply false
}
