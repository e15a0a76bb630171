package ru.crmprofi.phone

import android.Manifest
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Build
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.provider.Settings
import android.view.View
import android.widget.Button
import android.widget.EditText
import android.widget.TextView
import androidx.activity.result.contract.ActivityResultContracts
import androidx.appcompat.app.AlertDialog
import androidx.appcompat.app.AppCompatActivity
import androidx.core.content.ContextCompat
import com.journeyapps.barcodescanner.ScanContract
import com.journeyapps.barcodescanner.ScanOptions
import ru.crmprofi.phone.protocol.Channel
import ru.crmprofi.phone.protocol.DeviceApiException
import ru.crmprofi.phone.protocol.DeviceError
import ru.crmprofi.phone.protocol.DeviceInfo
import ru.crmprofi.phone.protocol.DeviceState
import ru.crmprofi.phone.protocol.PairRequest
import ru.crmprofi.phone.protocol.PairingLink
import ru.crmprofi.phone.protocol.PairingLinkException
import ru.crmprofi.phone.protocol.ProtocolException
import ru.crmprofi.phone.protocol.Push
import ru.crmprofi.phone.protocol.PushProvider

// MainActivity: pairing (scan the QR code, show the confirmation code, wait
// for the CRM) and, once paired, the state of the connection.
class MainActivity : AppCompatActivity() {
    private val app get() = CrmPhoneApp.of(this)
    private val handler = Handler(Looper.getMainLooper())
    private var busy = false
    private var notice: String? = null

    private val scan = registerForActivityResult(ScanContract()) { result ->
        result.contents?.let { onLink(it) }
    }
    private val askNotifications = registerForActivityResult(ActivityResultContracts.RequestPermission()) { render() }

    private val checkConfirmation = object : Runnable {
        override fun run() {
            if (app.pairing.state != DeviceState.PENDING_CONFIRMATION) return
            refreshStatus()
            handler.postDelayed(this, CONFIRM_POLL_MS)
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        findViewById<Button>(R.id.scan).setOnClickListener {
            scan.launch(
                ScanOptions()
                    .setDesiredBarcodeFormats(ScanOptions.QR_CODE)
                    .setPrompt(getString(R.string.scan_prompt))
                    .setBeepEnabled(false)
                    .setOrientationLocked(false)
            )
        }
        findViewById<Button>(R.id.enter_link).setOnClickListener { askForLink() }
        findViewById<Button>(R.id.abort_pairing).setOnClickListener { unpair() }
        findViewById<Button>(R.id.unpair).setOnClickListener {
            AlertDialog.Builder(this)
                .setMessage(R.string.unpair_confirm)
                .setPositiveButton(R.string.unpair) { _, _ -> unpair() }
                .setNegativeButton(R.string.cancel, null)
                .show()
        }
        findViewById<Button>(R.id.history).setOnClickListener { startActivity(Intent(this, HistoryActivity::class.java)) }
    }

    override fun onResume() {
        super.onResume()
        if (app.pairing.revokedNotice) {
            notice = getString(R.string.err_revoked)
            app.pairing.revokedNotice = false
        }
        render()
        when {
            app.pairing.state == DeviceState.PENDING_CONFIRMATION -> handler.post(checkConfirmation)
            app.pairing.isActive -> {
                askForNotifications()
                Delivery.ensureRunning(this)
                refreshStatus()
                pickUpPending()
            }
        }
    }

    override fun onPause() {
        handler.removeCallbacks(checkConfirmation)
        super.onPause()
    }

    private fun render() {
        val p = app.pairing
        show(R.id.section_unpaired, !p.isPaired)
        show(R.id.section_confirm, p.isPaired && p.state == DeviceState.PENDING_CONFIRMATION)
        show(R.id.section_active, p.isActive)
        show(R.id.progress, busy)
        findViewById<View>(R.id.scan).isEnabled = !busy
        findViewById<View>(R.id.enter_link).isEnabled = !busy
        findViewById<TextView>(R.id.confirm_code).text = p.confirmCode ?: ""
        val host = p.baseUrl?.let { runCatching { java.net.URI(it).host }.getOrNull() ?: it } ?: ""
        findViewById<TextView>(R.id.paired_to).text = getString(R.string.paired_to, host)
        findViewById<TextView>(R.id.channel).setText(if (Fcm.available(this)) R.string.channel_fcm else R.string.channel_poll)
        var text = notice
        if (text == null && p.isActive && !Notifications.canNotify(this)) text = getString(R.string.notifications_off)
        val n = findViewById<TextView>(R.id.notice)
        n.text = text ?: ""
        show(R.id.notice, text != null)
    }

    private fun show(id: Int, visible: Boolean) {
        findViewById<View>(id).visibility = if (visible) View.VISIBLE else View.GONE
    }

    private fun askForNotifications() {
        if (Build.VERSION.SDK_INT >= 33 &&
            ContextCompat.checkSelfPermission(this, Manifest.permission.POST_NOTIFICATIONS) != PackageManager.PERMISSION_GRANTED
        ) {
            askNotifications.launch(Manifest.permission.POST_NOTIFICATIONS)
        }
    }

    private fun askForLink() {
        val input = EditText(this).apply {
            hint = getString(R.string.enter_link_hint)
            isSingleLine = true
        }
        AlertDialog.Builder(this)
            .setTitle(R.string.enter_link)
            .setView(input)
            .setPositiveButton(R.string.pair) { _, _ -> onLink(input.text.toString()) }
            .setNegativeButton(R.string.cancel, null)
            .show()
    }

    private fun onLink(text: String) {
        val link = try {
            PairingLink.parse(text, BuildConfig.ALLOW_INSECURE)
        } catch (e: PairingLinkException) {
            notice = e.messageRu
            render()
            return
        }
        var message = getString(R.string.connect_to, link.host)
        if (!link.isSecure) message += "\n\n" + getString(R.string.connect_insecure, link.host)
        AlertDialog.Builder(this)
            .setMessage(message)
            .setPositiveButton(R.string.pair) { _, _ -> pair(link) }
            .setNegativeButton(R.string.cancel, null)
            .show()
    }

    private fun pair(link: PairingLink) {
        busy = true
        notice = null
        render()
        app.background.execute {
            val result: String? = try {
                val token = Fcm.token(this)
                val push = if (token == null) Push(PushProvider.NONE, null) else Push(PushProvider.FCM, token)
                val request = PairRequest(link.pairingId, link.secret, deviceInfo(), push)
                val paired = app.api(link.baseUrl)!!.pair(request)
                app.pairing.save(link.baseUrl, paired, token)
                null
            } catch (e: DeviceApiException) {
                errorText(e)
            } catch (e: ProtocolException) {
                getString(R.string.err_protocol)
            }
            runOnUiThread {
                busy = false
                notice = result
                render()
                if (app.pairing.state == DeviceState.PENDING_CONFIRMATION) handler.post(checkConfirmation)
            }
        }
    }

    private fun deviceInfo(): DeviceInfo {
        val name = Settings.Global.getString(contentResolver, Settings.Global.DEVICE_NAME)?.take(100)?.ifBlank { null }
            ?: Build.MODEL
        return DeviceInfo(
            name = name,
            model = "${Build.MANUFACTURER} ${Build.MODEL}".take(100),
            os = "Android ${Build.VERSION.RELEASE}",
            appVersion = BuildConfig.VERSION_NAME,
            installId = app.pairing.installId
        )
    }

    // refreshStatus asks the CRM how this phone stands: confirmed, still
    // waiting, or revoked (the user rejected the code or unpaired it).
    private fun refreshStatus() {
        app.background.execute {
            val api = app.api() ?: return@execute
            try {
                val s = api.status()
                val wasWaiting = app.pairing.state == DeviceState.PENDING_CONFIRMATION
                app.pairing.update(s)
                if (wasWaiting && s.status == DeviceState.ACTIVE) {
                    runOnUiThread {
                        askForNotifications()
                        Delivery.ensureRunning(this)
                    }
                }
            } catch (e: DeviceApiException) {
                if (e.kind == DeviceApiException.Kind.REVOKED) {
                    Delivery.unpaired(this)
                    app.pairing.revokedNotice = false
                    runOnUiThread { notice = getString(R.string.err_revoked) }
                }
            } catch (e: ProtocolException) {
                // Shown as it was; the next check tries again.
            }
            runOnUiThread { render() }
        }
    }

    // pickUpPending: with FCM the app keeps no connection open, so opening
    // it fetches whatever is waiting right away.
    private fun pickUpPending() {
        if (!Fcm.available(this)) return
        app.background.execute {
            try {
                val list = app.api()?.poll(0) ?: return@execute
                for (c in list.commands) Delivery.handle(this, c, Channel.POLL)
            } catch (e: DeviceApiException) {
                // The long-poll or FCM will bring it.
            } catch (e: ProtocolException) {
            }
        }
    }

    private fun unpair() {
        val api = app.api()
        app.background.execute {
            try {
                api?.unpair()
            } catch (e: DeviceApiException) {
                // Already gone on the CRM, or unreachable: the CRM page can
                // still revoke it; this phone forgets it either way.
            }
            Delivery.forget(this, revoked = false)
            app.history.clear()
            runOnUiThread {
                notice = null
                render()
            }
        }
    }

    private fun errorText(e: DeviceApiException): String = when {
        e.kind == DeviceApiException.Kind.UNAVAILABLE && e.status == 0 -> getString(R.string.err_network)
        e.error?.error == DeviceError.INVALID_PAIRING -> getString(R.string.err_pairing_invalid)
        e.error?.error == DeviceError.PAIRING_EXPIRED || e.status == 410 -> getString(R.string.err_pairing_expired)
        e.error?.error == DeviceError.TOO_MANY_ATTEMPTS || e.status == 429 -> getString(R.string.err_too_many)
        e.kind == DeviceApiException.Kind.REVOKED -> getString(R.string.err_revoked)
        e.status == 400 -> getString(R.string.err_pairing_invalid)
        else -> getString(R.string.err_server, e.status)
    }

    private companion object {
        const val CONFIRM_POLL_MS = 2000L
    }
}
