plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

// FCM needs the installation's own Firebase project: put its
// google-services.json here (README.md). Without it the app is built all the
// same and uses the long-poll only.
if (file("google-services.json").exists()) {
    apply(plugin = "com.google.gms.google-services")
}

android {
    namespace = "ru.crmprofi.phone"
    compileSdk = 34

    defaultConfig {
        applicationId = "ru.crmprofi.phone"
        minSdk = 26
        targetSdk = 34
        versionCode = 1
        versionName = "1.0.0"
    }

    buildTypes {
        debug {
            // A debug build may pair with http:// (an emulator reaching a
            // developer's machine at 10.0.2.2); a release build only https.
            buildConfigField("boolean", "ALLOW_INSECURE", "true")
        }
        release {
            buildConfigField("boolean", "ALLOW_INSECURE", "false")
            isMinifyEnabled = false
        }
    }

    buildFeatures {
        buildConfig = true
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    kotlinOptions {
        jvmTarget = "17"
    }
}

dependencies {
    implementation(project(":protocol"))
    implementation("androidx.core:core-ktx:1.13.1")
    implementation("androidx.appcompat:appcompat:1.7.0")
    implementation("com.google.android.material:material:1.12.0")
    implementation("androidx.work:work-runtime-ktx:2.9.1")
    implementation(platform("com.google.firebase:firebase-bom:33.1.2"))
    implementation("com.google.firebase:firebase-messaging")
    implementation("com.google.android.gms:play-services-base:18.5.0")
    implementation("com.journeyapps:zxing-android-embedded:4.3.0")
}
