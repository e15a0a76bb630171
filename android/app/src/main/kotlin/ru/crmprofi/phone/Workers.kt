package ru.crmprofi.phone

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.ExistingWorkPolicy
import androidx.work.ForegroundInfo
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.Worker
import androidx.work.WorkerParameters
import ru.crmprofi.phone.protocol.Attempt
import ru.crmprofi.phone.protocol.Channel
import ru.crmprofi.phone.protocol.CommandEvent
import ru.crmprofi.phone.protocol.DeviceApiException
import ru.crmprofi.phone.protocol.GaveUp
import ru.crmprofi.phone.protocol.Json
import ru.crmprofi.phone.protocol.Push
import ru.crmprofi.phone.protocol.PushProvider
import ru.crmprofi.phone.protocol.Retrier
import ru.crmprofi.phone.protocol.RetryPolicy
import ru.crmprofi.phone.protocol.attempt
import java.util.concurrent.TimeUnit

// guarded runs one device call for a Retrier and notes a revoked credential
// (which ends the tries) in revoked[0].
private fun <T> guarded(revoked: BooleanArray, block: () -> T): Attempt<T> = try {
    Attempt.Done(block())
} catch (e: DeviceApiException) {
    if (e.kind == DeviceApiException.Kind.REVOKED) {
        revoked[0] = true
        Attempt.Fail("revoked")
    } else {
        attempt<T> { throw e }
    }
}

// AckWorker sends one acknowledgement, retrying with back-off (the same
// event id every time) until the request expires.
class AckWorker(context: Context, params: WorkerParameters) : Worker(context, params) {
    // Expedited work runs as a foreground service before Android 12; it
    // needs a notification there.
    override fun getForegroundInfo(): ForegroundInfo =
        ForegroundInfo(Notifications.SERVICE_ID + 1, Notifications.service(applicationContext))

    override fun doWork(): Result {
        val app = CrmPhoneApp.of(applicationContext)
        val api = app.api() ?: return Result.failure()
        val id = inputData.getString(COMMAND_ID) ?: return Result.failure()
        val event = CommandEvent.fromJson(Json.parse(inputData.getString(EVENT) ?: return Result.failure()))
        val expiresAt = inputData.getLong(EXPIRES_AT, 0)
        val revoked = BooleanArray(1)
        return try {
            val answer = Retrier(RetryPolicy()).run(expiresAt) { guarded(revoked) { api.acknowledge(id, event) } }
            app.history.advance(id, answer.status)
            Result.success()
        } catch (e: GaveUp) {
            if (revoked[0]) Delivery.unpaired(applicationContext)
            // A refused or late acknowledgement is not retried; the chain
            // of this request's acknowledgements goes on.
            Result.success()
        }
    }

    companion object {
        const val COMMAND_ID = "command_id"
        const val EVENT = "event"
        const val EXPIRES_AT = "expires_at"
    }
}

// FetchWorker fetches a command announced by FCM that could not be fetched
// at once, until the request expires.
class FetchWorker(context: Context, params: WorkerParameters) : Worker(context, params) {
    // Expedited work runs as a foreground service before Android 12; it
    // needs a notification there.
    override fun getForegroundInfo(): ForegroundInfo =
        ForegroundInfo(Notifications.SERVICE_ID + 1, Notifications.service(applicationContext))

    override fun doWork(): Result {
        val api = CrmPhoneApp.of(applicationContext).api() ?: return Result.failure()
        val id = inputData.getString(COMMAND_ID) ?: return Result.failure()
        val expiresAt = inputData.getLong(EXPIRES_AT, 0)
        val revoked = BooleanArray(1)
        return try {
            val command = Retrier(RetryPolicy()).run(expiresAt) { guarded(revoked) { api.command(id) } }
            Delivery.handle(applicationContext, command, Channel.FCM)
            Result.success()
        } catch (e: GaveUp) {
            if (revoked[0]) Delivery.unpaired(applicationContext)
            Result.success()
        }
    }

    companion object {
        const val COMMAND_ID = "command_id"
        const val EXPIRES_AT = "expires_at"
    }
}

// PushTokenWorker tells the CRM the current FCM token (or that there is none).
class PushTokenWorker(context: Context, params: WorkerParameters) : Worker(context, params) {
    override fun doWork(): Result {
        val app = CrmPhoneApp.of(applicationContext)
        if (!app.pairing.isPaired) return Result.success()
        val api = app.api() ?: return Result.success()
        val token = Fcm.token(applicationContext)
        val push = if (token == null) Push(PushProvider.NONE, null) else Push(PushProvider.FCM, token)
        return try {
            api.updatePush(push)
            app.pairing.pushToken = token
            Delivery.ensureRunning(applicationContext)
            Result.success()
        } catch (e: DeviceApiException) {
            when (e.kind) {
                DeviceApiException.Kind.REVOKED -> {
                    Delivery.unpaired(applicationContext)
                    Result.success()
                }
                DeviceApiException.Kind.REFUSED -> Result.failure()
                DeviceApiException.Kind.UNAVAILABLE -> Result.retry()
            }
        }
    }

    companion object {
        const val TAG = "push-token"

        fun enqueue(context: Context) {
            val request = OneTimeWorkRequestBuilder<PushTokenWorker>()
                .addTag(TAG)
                .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context).enqueueUniqueWork(TAG, ExistingWorkPolicy.REPLACE, request)
        }
    }
}

// KeepAliveWorker checks every 15 minutes that the pairing still stands,
// picks up the poll interval, and refreshes the push token if it changed.
class KeepAliveWorker(context: Context, params: WorkerParameters) : Worker(context, params) {
    override fun doWork(): Result {
        val app = CrmPhoneApp.of(applicationContext)
        val api = app.api() ?: return Result.success()
        return try {
            app.pairing.update(api.status())
            if (Fcm.available(applicationContext) && Fcm.token(applicationContext) != app.pairing.pushToken) {
                PushTokenWorker.enqueue(applicationContext)
            }
            Result.success()
        } catch (e: DeviceApiException) {
            if (e.kind == DeviceApiException.Kind.REVOKED) Delivery.unpaired(applicationContext)
            Result.success()
        } catch (e: ru.crmprofi.phone.protocol.ProtocolException) {
            Result.success()
        }
    }
}
