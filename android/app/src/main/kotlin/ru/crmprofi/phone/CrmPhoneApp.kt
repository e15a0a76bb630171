package ru.crmprofi.phone

import android.app.Application
import android.content.Context
import ru.crmprofi.phone.protocol.CommandInbox
import ru.crmprofi.phone.protocol.Deduplicator
import ru.crmprofi.phone.protocol.DeviceApi
import ru.crmprofi.phone.protocol.UrlConnectionTransport
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

// CrmPhoneApp holds the app's few long-lived objects; there is no DI framework.
class CrmPhoneApp : Application() {
    lateinit var pairing: PairingStore
        private set
    lateinit var history: HistoryStore
        private set
    lateinit var inbox: CommandInbox
        private set
    private lateinit var dedup: Deduplicator

    // background runs network calls started by the UI.
    val background: ExecutorService = Executors.newCachedThreadPool()

    override fun onCreate() {
        super.onCreate()
        pairing = PairingStore(this)
        history = HistoryStore(this)
        dedup = Deduplicator()
        dedup.restore(getSharedPreferences(DEDUP_PREFS, Context.MODE_PRIVATE).getString(DEDUP_KEY, "") ?: "")
        inbox = CommandInbox(dedup)
        Notifications.createChannels(this)
        Delivery.ensureRunning(this)
    }

    // saveDedup keeps the ids already shown across a restart of the process.
    fun saveDedup() {
        getSharedPreferences(DEDUP_PREFS, Context.MODE_PRIVATE).edit().putString(DEDUP_KEY, dedup.snapshot()).apply()
    }

    // api talks to the paired CRM (or to baseUrl while pairing).
    fun api(baseUrl: String? = null): DeviceApi? {
        val base = baseUrl ?: pairing.baseUrl ?: return null
        return DeviceApi(base, UrlConnectionTransport("CRM-Profi-Phone/${BuildConfig.VERSION_NAME}")) { pairing.credential() }
    }

    companion object {
        private const val DEDUP_PREFS = "dedup"
        private const val DEDUP_KEY = "shown"

        fun of(context: Context): CrmPhoneApp = context.applicationContext as CrmPhoneApp
    }
}
