package ru.crmprofi.phone

import android.app.Service
import android.content.Context
import android.content.Intent
import android.content.pm.ServiceInfo
import android.os.Build
import android.os.IBinder
import androidx.core.app.ServiceCompat
import androidx.core.content.ContextCompat
import ru.crmprofi.phone.protocol.Channel
import ru.crmprofi.phone.protocol.DeviceApiException
import ru.crmprofi.phone.protocol.ProtocolException
import ru.crmprofi.phone.protocol.RetryPolicy

// PollService is the channel that needs no Google services: a foreground
// service that keeps one long-poll open to the CRM
// (GET /api/phone/v1/commands?wait=N) and hands each command to Delivery.
// After a failure it waits with back-off (1 s doubling to 60 s).
class PollService : Service() {
    @Volatile
    private var running = false
    private var thread: Thread? = null

    override fun onBind(intent: Intent?): IBinder? = null

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        val type = if (Build.VERSION.SDK_INT >= 29) ServiceInfo.FOREGROUND_SERVICE_TYPE_DATA_SYNC else 0
        ServiceCompat.startForeground(this, Notifications.SERVICE_ID, Notifications.service(this), type)
        if (thread == null) {
            running = true
            thread = Thread({ loop() }, "crm-long-poll").also { it.start() }
        }
        return START_STICKY
    }

    override fun onDestroy() {
        running = false
        thread?.interrupt()
        thread = null
        super.onDestroy()
    }

    private fun loop() {
        val app = CrmPhoneApp.of(this)
        val backoff = RetryPolicy(1000, 60_000, 2.0, 0.2)
        var failures = 0
        while (running) {
            val api = app.api()
            if (api == null || !app.pairing.isActive) break
            try {
                val list = api.poll(app.pairing.pollWaitS)
                failures = 0
                for (c in list.commands) Delivery.handle(this, c, Channel.POLL)
                continue
            } catch (e: DeviceApiException) {
                if (e.kind == DeviceApiException.Kind.REVOKED) {
                    Delivery.unpaired(this)
                    break
                }
            } catch (e: ProtocolException) {
                // An answer that is not the protocol's: wait and try again.
            }
            failures++
            try {
                Thread.sleep(backoff.baseDelayMs(failures) - (Math.random() * 0.2 * backoff.baseDelayMs(failures)).toLong())
            } catch (e: InterruptedException) {
                break
            }
        }
        running = false
        stopSelf()
    }

    companion object {
        fun start(context: Context) {
            try {
                ContextCompat.startForegroundService(context, Intent(context, PollService::class.java))
            } catch (e: IllegalStateException) {
                // Android 12+ refuses to start it from the background; the
                // next start of the app or of the phone does it.
            }
        }

        fun stop(context: Context) {
            context.stopService(Intent(context, PollService::class.java))
        }
    }
}
