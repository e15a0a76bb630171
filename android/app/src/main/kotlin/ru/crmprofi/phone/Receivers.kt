package ru.crmprofi.phone

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent

// CancelReceiver: «Отмена» on the notification.
class CancelReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        val id = intent.getStringExtra(EXTRA_ID) ?: return
        Delivery.cancel(context, id)
    }

    companion object {
        private const val EXTRA_ID = "command_id"

        fun intent(context: Context, id: String): Intent =
            Intent(context, CancelReceiver::class.java).putExtra(EXTRA_ID, id).setAction("cancel:$id")
    }
}

// BootReceiver starts the long-poll again after a reboot or an update.
class BootReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        Delivery.ensureRunning(context)
    }
}
