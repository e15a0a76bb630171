package ru.crmprofi.phone

import android.content.Context
import com.google.android.gms.common.ConnectionResult
import com.google.android.gms.common.GoogleApiAvailability
import com.google.android.gms.tasks.Tasks
import com.google.firebase.FirebaseApp
import com.google.firebase.messaging.FirebaseMessaging
import java.util.concurrent.TimeUnit

// Fcm: whether push can be used here. It cannot when the APK was built
// without a google-services.json or the phone has no Google services
// (common in Russia); then the long-poll carries everything.
object Fcm {
    fun available(context: Context): Boolean = try {
        FirebaseApp.getApps(context).isNotEmpty() &&
            GoogleApiAvailability.getInstance().isGooglePlayServicesAvailable(context) == ConnectionResult.SUCCESS
    } catch (e: Exception) {
        false
    }

    // token asks FCM for this install's token; null when there is none.
    // Blocks (at most 10 s): call it off the main thread.
    fun token(context: Context): String? {
        if (!available(context)) return null
        return try {
            Tasks.await(FirebaseMessaging.getInstance().token, 10, TimeUnit.SECONDS)
        } catch (e: Exception) {
            null
        }
    }
}
