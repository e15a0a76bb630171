package ru.crmprofi.phone

import android.Manifest
import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import androidx.core.app.NotificationCompat
import androidx.core.app.NotificationManagerCompat
import androidx.core.content.ContextCompat

object Notifications {
    const val CHANNEL_CALLS = "call_requests"
    const val CHANNEL_SERVICE = "connection"
    const val SERVICE_ID = 1

    fun createChannels(context: Context) {
        val nm = context.getSystemService(NotificationManager::class.java)
        val calls = NotificationChannel(CHANNEL_CALLS, context.getString(R.string.channel_calls), NotificationManager.IMPORTANCE_HIGH).apply {
            description = context.getString(R.string.channel_calls_desc)
            enableVibration(true)
            lockscreenVisibility = Notification.VISIBILITY_PRIVATE
        }
        val service = NotificationChannel(CHANNEL_SERVICE, context.getString(R.string.channel_service), NotificationManager.IMPORTANCE_MIN).apply {
            description = context.getString(R.string.channel_service_desc)
            setShowBadge(false)
        }
        nm.createNotificationChannels(listOf(calls, service))
    }

    fun canNotify(context: Context): Boolean {
        if (Build.VERSION.SDK_INT >= 33 &&
            ContextCompat.checkSelfPermission(context, Manifest.permission.POST_NOTIFICATIONS) != PackageManager.PERMISSION_GRANTED
        ) {
            return false
        }
        return NotificationManagerCompat.from(context).areNotificationsEnabled()
    }

    private fun notificationId(commandId: String): Int = 1000 + (commandId.hashCode() and 0x0FFFFFFF)

    // showCall puts up the call card: number, contact, company; «Позвонить»
    // opens the dialer, «Отмена» dismisses it, a tap opens the full card. It
    // disappears by itself when the request expires. false: notifications
    // are off, the user cannot see it.
    fun showCall(context: Context, entry: HistoryEntry): Boolean {
        if (!canNotify(context)) return false
        val id = notificationId(entry.id)
        val flags = PendingIntent.FLAG_IMMUTABLE or PendingIntent.FLAG_UPDATE_CURRENT
        val open = PendingIntent.getActivity(context, id, CallCardActivity.intent(context, entry.id), flags)
        val dial = PendingIntent.getActivity(context, id + 1, DialActivity.intent(context, entry.id), flags)
        val cancel = PendingIntent.getBroadcast(context, id + 2, CancelReceiver.intent(context, entry.id), flags)
        val who = listOfNotNull(entry.contact, entry.company).joinToString(" · ").ifEmpty { context.getString(R.string.no_contact) }
        val timeout = maxOf(1000L, entry.expiresAt - System.currentTimeMillis())
        val public = NotificationCompat.Builder(context, CHANNEL_CALLS)
            .setSmallIcon(R.drawable.ic_notify_call)
            .setContentTitle(context.getString(R.string.call_card_title))
            .build()
        val n = NotificationCompat.Builder(context, CHANNEL_CALLS)
            .setSmallIcon(R.drawable.ic_notify_call)
            .setContentTitle(entry.display)
            .setContentText(who)
            .setSubText(context.getString(R.string.call_card_title))
            .setPriority(NotificationCompat.PRIORITY_HIGH)
            .setCategory(NotificationCompat.CATEGORY_REMINDER)
            .setVisibility(NotificationCompat.VISIBILITY_PRIVATE)
            .setPublicVersion(public)
            .setContentIntent(open)
            .setAutoCancel(true)
            .setTimeoutAfter(timeout)
            .addAction(0, context.getString(R.string.call), dial)
            .addAction(0, context.getString(R.string.cancel), cancel)
            .build()
        return try {
            NotificationManagerCompat.from(context).notify(id, n)
            true
        } catch (e: SecurityException) {
            false
        }
    }

    fun dismiss(context: Context, commandId: String) {
        NotificationManagerCompat.from(context).cancel(notificationId(commandId))
    }

    fun service(context: Context): Notification {
        val open = PendingIntent.getActivity(
            context, 0, android.content.Intent(context, MainActivity::class.java),
            PendingIntent.FLAG_IMMUTABLE or PendingIntent.FLAG_UPDATE_CURRENT
        )
        return NotificationCompat.Builder(context, CHANNEL_SERVICE)
            .setSmallIcon(R.drawable.ic_notify_call)
            .setContentTitle(context.getString(R.string.service_running))
            .setPriority(NotificationCompat.PRIORITY_MIN)
            .setOngoing(true)
            .setContentIntent(open)
            .build()
    }
}
