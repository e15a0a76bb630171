package ru.crmprofi.phone

import com.google.firebase.messaging.FirebaseMessagingService
import com.google.firebase.messaging.RemoteMessage
import ru.crmprofi.phone.protocol.Channel
import ru.crmprofi.phone.protocol.DeviceApiException
import ru.crmprofi.phone.protocol.FcmData
import ru.crmprofi.phone.protocol.GaveUp
import ru.crmprofi.phone.protocol.ProtocolException
import ru.crmprofi.phone.protocol.Retrier
import ru.crmprofi.phone.protocol.RetryPolicy
import ru.crmprofi.phone.protocol.attempt

// PushService receives the CRM's data-only FCM message, which carries only
// the request id and its expiry, and fetches the request itself from the CRM.
class PushService : FirebaseMessagingService() {
    override fun onNewToken(token: String) {
        PushTokenWorker.enqueue(this)
    }

    override fun onMessageReceived(message: RemoteMessage) {
        val data = try {
            FcmData.fromMap(message.data)
        } catch (e: ProtocolException) {
            return // not ours, or from a newer CRM
        }
        val app = CrmPhoneApp.of(this)
        val api = app.api() ?: return
        val now = System.currentTimeMillis()
        val expiresAt = data.expiresAt.epochMillis
        if (now >= expiresAt) return
        // A few quick tries while FCM's high priority keeps the phone awake;
        // then WorkManager goes on until the expiry.
        val deadline = minOf(expiresAt, now + QUICK_MS)
        try {
            val command = Retrier(RetryPolicy(500, 4000)).run(deadline) { attempt { api.command(data.id) } }
            Delivery.handle(this, command, Channel.FCM)
        } catch (e: GaveUp) {
            Delivery.fetchLater(this, data.id, expiresAt)
        } catch (e: DeviceApiException) {
            if (e.kind == DeviceApiException.Kind.REVOKED) Delivery.unpaired(this)
        }
    }

    private companion object {
        const val QUICK_MS = 8000L
    }
}
