package ru.crmprofi.phone

import android.content.Context
import ru.crmprofi.phone.protocol.DeviceCredential
import ru.crmprofi.phone.protocol.DeviceState
import ru.crmprofi.phone.protocol.DeviceStatus
import ru.crmprofi.phone.protocol.PairResponse
import java.util.UUID

// PairingStore keeps this phone's pairing: the CRM's address, the device id,
// the device token sealed with the Keystore (TokenCipher), and the state the
// CRM last reported. The install id survives unpairing.
class PairingStore(context: Context) {
    private val prefs = context.getSharedPreferences("pairing", Context.MODE_PRIVATE)
    private var cached: DeviceCredential? = null

    val installId: String
        @Synchronized get() = prefs.getString(KEY_INSTALL_ID, null)
            ?: UUID.randomUUID().toString().also { prefs.edit().putString(KEY_INSTALL_ID, it).apply() }

    val baseUrl: String? get() = prefs.getString(KEY_BASE_URL, null)
    val state: String? get() = prefs.getString(KEY_STATE, null)
    val confirmCode: String? get() = prefs.getString(KEY_CONFIRM_CODE, null)
    val pollWaitS: Long get() = prefs.getLong(KEY_WAIT_S, DeviceStatus.DEFAULT_WAIT_S)
    val isActive: Boolean get() = state == DeviceState.ACTIVE && baseUrl != null
    val isPaired: Boolean get() = baseUrl != null

    // revokedNotice: the CRM ended the pairing; the main screen says so once.
    var revokedNotice: Boolean
        get() = prefs.getBoolean(KEY_REVOKED_NOTICE, false)
        set(v) {
            prefs.edit().putBoolean(KEY_REVOKED_NOTICE, v).apply()
        }

    // pushToken is the FCM token the CRM last accepted.
    var pushToken: String?
        get() = prefs.getString(KEY_PUSH_TOKEN, null)
        set(v) {
            prefs.edit().putString(KEY_PUSH_TOKEN, v).apply()
        }

    @Synchronized
    fun credential(): DeviceCredential? {
        val known = cached
        if (known != null) return known
        val id = prefs.getString(KEY_DEVICE_ID, null) ?: return null
        val iv = prefs.getString(KEY_TOKEN_IV, null) ?: return null
        val data = prefs.getString(KEY_TOKEN, null) ?: return null
        val token = TokenCipher.open(TokenCipher.Sealed(iv, data)) ?: return null
        return DeviceCredential(id, token).also { cached = it }
    }

    @Synchronized
    fun save(baseUrl: String, paired: PairResponse, pushToken: String?) {
        val sealed = TokenCipher.seal(paired.deviceToken)
        prefs.edit()
            .putString(KEY_BASE_URL, baseUrl)
            .putString(KEY_DEVICE_ID, paired.deviceId)
            .putString(KEY_TOKEN_IV, sealed.iv)
            .putString(KEY_TOKEN, sealed.data)
            .putString(KEY_STATE, paired.status)
            .putString(KEY_CONFIRM_CODE, paired.confirmCode)
            .putString(KEY_PUSH_TOKEN, pushToken)
            .putBoolean(KEY_REVOKED_NOTICE, false)
            .commit()
        cached = DeviceCredential(paired.deviceId, paired.deviceToken)
    }

    fun update(status: DeviceStatus) {
        prefs.edit().putString(KEY_STATE, status.status).putLong(KEY_WAIT_S, status.pollWaitS).apply()
    }

    @Synchronized
    fun forget(revoked: Boolean) {
        val install = installId
        prefs.edit().clear().putString(KEY_INSTALL_ID, install).putBoolean(KEY_REVOKED_NOTICE, revoked).commit()
        cached = null
        TokenCipher.deleteKey()
    }

    private companion object {
        const val KEY_INSTALL_ID = "install_id"
        const val KEY_BASE_URL = "base_url"
        const val KEY_DEVICE_ID = "device_id"
        const val KEY_TOKEN_IV = "token_iv"
        const val KEY_TOKEN = "token"
        const val KEY_STATE = "state"
        const val KEY_CONFIRM_CODE = "confirm_code"
        const val KEY_WAIT_S = "wait_s"
        const val KEY_PUSH_TOKEN = "push_token"
        const val KEY_REVOKED_NOTICE = "revoked_notice"
    }
}
