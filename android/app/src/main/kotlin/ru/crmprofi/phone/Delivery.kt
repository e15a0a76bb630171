package ru.crmprofi.phone

import android.app.Activity
import android.content.ActivityNotFoundException
import android.content.Context
import android.content.Intent
import android.net.Uri
import android.widget.Toast
import androidx.work.Constraints
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.OutOfQuotaPolicy
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.workDataOf
import ru.crmprofi.phone.protocol.AckType
import ru.crmprofi.phone.protocol.CallStatus
import ru.crmprofi.phone.protocol.Command
import ru.crmprofi.phone.protocol.CommandEvent
import ru.crmprofi.phone.protocol.Decision
import ru.crmprofi.phone.protocol.Json
import ru.crmprofi.phone.protocol.Timestamp
import java.time.ZoneId
import java.util.UUID
import java.util.concurrent.TimeUnit

// Delivery is the app's path for a call request, whichever channel brings
// it: the inbox drops what was already shown (by request id) or has expired;
// a new one goes into the history, onto the screen as a notification, and
// is acknowledged; the user's «Позвонить»/«Отмена» are acknowledged too.
object Delivery {
    // handle is called from the long-poll and from FCM (after fetching the
    // command), possibly at the same time for the same request.
    fun handle(context: Context, command: Command, channel: String) {
        val app = CrmPhoneApp.of(context)
        val now = System.currentTimeMillis()
        when (app.inbox.accept(command, now)) {
            Decision.SHOW -> {
                app.saveDedup()
                app.history.add(command, channel, now)
                val entry = app.history.get(command.id) ?: return
                acknowledge(context, command.id, AckType.DELIVERED, channel, entry.expiresAt)
                if (!Notifications.showCall(context, entry)) {
                    // The phone has it but the user cannot see it: say so
                    // rather than leave the CRM waiting at «Доставлено».
                    app.history.advance(command.id, CallStatus.FAILED)
                    acknowledge(context, command.id, AckType.ERROR, channel, entry.expiresAt, "notifications_disabled")
                }
            }
            Decision.UNPAIRED -> unpaired(context)
            Decision.DUPLICATE, Decision.CLOSED, Decision.IGNORED -> Unit
        }
    }

    // opened: the user opened the card.
    fun opened(context: Context, id: String) {
        val app = CrmPhoneApp.of(context)
        val e = app.history.get(id) ?: return
        if (e.shownStatus(System.currentTimeMillis()).rank >= CallStatus.OPENED.rank) return
        app.history.advance(id, CallStatus.OPENED)
        acknowledge(context, id, AckType.OPENED, e.channel, e.expiresAt)
    }

    // dial opens the system dialer with the number filled in (the user
    // presses the call button there) and reports it.
    fun dial(activity: Activity, id: String) {
        val app = CrmPhoneApp.of(activity)
        val e = app.history.get(id) ?: return
        Notifications.dismiss(activity, id)
        opened(activity, id)
        val live = !e.shownStatus(System.currentTimeMillis()).isFinal
        try {
            activity.startActivity(Intent(Intent.ACTION_DIAL, Uri.fromParts("tel", e.e164, null)))
            if (live && app.history.advance(id, CallStatus.DIALED)) acknowledge(activity, id, AckType.DIALED, e.channel, e.expiresAt)
        } catch (ex: ActivityNotFoundException) {
            Toast.makeText(activity, R.string.no_dialer, Toast.LENGTH_LONG).show()
            if (live && app.history.advance(id, CallStatus.FAILED)) acknowledge(activity, id, AckType.ERROR, e.channel, e.expiresAt, "no_dialer")
        }
    }

    fun cancel(context: Context, id: String) {
        val app = CrmPhoneApp.of(context)
        val e = app.history.get(id) ?: return
        Notifications.dismiss(context, id)
        if (e.shownStatus(System.currentTimeMillis()).isFinal) return
        if (app.history.advance(id, CallStatus.CANCELLED)) acknowledge(context, id, AckType.CANCELLED, e.channel, e.expiresAt)
    }

    // acknowledge queues one acknowledgement. Its event id is made here,
    // once, so every retry repeats it; the acknowledgements of one request
    // go out in order; AckWorker gives up at the request's expiry.
    fun acknowledge(context: Context, id: String, type: String, channel: String, expiresAt: Long, detail: String? = null) {
        val now = System.currentTimeMillis()
        val offset = ZoneId.systemDefault().rules.getOffset(java.time.Instant.ofEpochMilli(now))
        val event = CommandEvent(UUID.randomUUID().toString(), type, Timestamp.ofEpochMillis(now, offset), channel, detail)
        val request = OneTimeWorkRequestBuilder<AckWorker>()
            .setInputData(workDataOf(
                AckWorker.COMMAND_ID to id,
                AckWorker.EVENT to Json.write(event.toJson()),
                AckWorker.EXPIRES_AT to expiresAt
            ))
            .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
            .setExpedited(OutOfQuotaPolicy.RUN_AS_NON_EXPEDITED_WORK_REQUEST)
            .build()
        WorkManager.getInstance(context).beginUniqueWork("ack-$id", ExistingWorkPolicy.APPEND_OR_REPLACE, request).enqueue()
    }

    // fetchLater fetches a command FCM announced when the first try failed.
    fun fetchLater(context: Context, id: String, expiresAt: Long) {
        val request = OneTimeWorkRequestBuilder<FetchWorker>()
            .setInputData(workDataOf(FetchWorker.COMMAND_ID to id, FetchWorker.EXPIRES_AT to expiresAt))
            .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
            .setExpedited(OutOfQuotaPolicy.RUN_AS_NON_EXPEDITED_WORK_REQUEST)
            .build()
        WorkManager.getInstance(context).enqueueUniqueWork("fetch-$id", ExistingWorkPolicy.KEEP, request)
    }

    // ensureRunning starts what keeps requests coming: the long-poll
    // service when FCM cannot be used, and a periodic check of the pairing.
    fun ensureRunning(context: Context) {
        val app = CrmPhoneApp.of(context)
        if (!app.pairing.isActive) {
            PollService.stop(context)
            return
        }
        if (!Fcm.available(context)) PollService.start(context)
        WorkManager.getInstance(context).enqueueUniquePeriodicWork(
            "keep-alive",
            ExistingPeriodicWorkPolicy.KEEP,
            PeriodicWorkRequestBuilder<KeepAliveWorker>(15, TimeUnit.MINUTES)
                .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                .build()
        )
    }

    // unpaired: the CRM revoked this phone (or told it so); forget it.
    fun unpaired(context: Context) {
        forget(context, revoked = true)
    }

    fun forget(context: Context, revoked: Boolean) {
        val app = CrmPhoneApp.of(context)
        app.pairing.forget(revoked)
        PollService.stop(context)
        val wm = WorkManager.getInstance(context)
        wm.cancelUniqueWork("keep-alive")
        wm.cancelAllWorkByTag(PushTokenWorker.TAG)
    }
}
