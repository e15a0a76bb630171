package ru.crmprofi.phone.protocol

// The device side of «Call from phone» (shared/api.md): every JSON body the
// phone sends or reads. Each message has fromJson (validates, naming the
// offending member) and toJson (members in the contract's order; absent
// optional members left out). Unknown members are ignored when reading, so
// the CRM may add fields without breaking installed apps.

object Ids {
    private val ID = Regex("[A-Za-z0-9_-]{1,64}")
    private val SECRET = Regex("[A-Za-z0-9_-]{43}")
    private val E164 = Regex("""\+[1-9][0-9]{6,14}""")
    private val CONFIRM_CODE = Regex("[0-9]{4}")

    fun isId(s: String): Boolean = ID.matches(s)

    // isSecret: 32 bytes in base64url without padding is 43 characters, the
    // last of which carries only 4 bits (so it is one of AEIMQUYcgkosw048).
    fun isSecret(s: String): Boolean = SECRET.matches(s) && "AEIMQUYcgkosw048".indexOf(s[42]) >= 0

    fun isE164(s: String): Boolean = E164.matches(s)
    fun isConfirmCode(s: String): Boolean = CONFIRM_CODE.matches(s)
}

internal fun Fields.id(member: String): String {
    val v = string(member, 64)
    if (!Ids.isId(v)) fail(member, "must be 1–64 characters of A–Z, a–z, 0–9, '-', '_'")
    return v
}

object PushProvider {
    const val FCM = "fcm"
    const val NONE = "none"
    val ALL = listOf(FCM, NONE)
}

object Channel {
    const val FCM = "fcm"
    const val POLL = "poll"
    val ALL = listOf(FCM, POLL)
}

// Push: how the CRM may wake the phone. token is required for fcm and left
// out for none.
data class Push(val provider: String, val token: String?) {
    fun toJson(): JsonObject = jsonObject {
        put("provider", provider)
        put("token", token)
    }

    companion object {
        fun read(f: Fields): Push {
            val provider = f.oneOf("provider", PushProvider.ALL)
            val token = f.optString("token", 4096)
            if (provider == PushProvider.FCM && token.isNullOrBlank()) f.fail("token", "required for provider fcm")
            return Push(provider, if (provider == PushProvider.NONE) null else token)
        }

        fun fromJson(v: JsonValue): Push = read(Fields.of(v))
    }
}

data class DeviceInfo(val name: String, val model: String, val os: String, val appVersion: String, val installId: String) {
    fun toJson(): JsonObject = jsonObject {
        put("name", name)
        put("model", model)
        put("os", os)
        put("app_version", appVersion)
        put("install_id", installId)
    }

    companion object {
        fun read(f: Fields): DeviceInfo = DeviceInfo(
            name = f.nonEmpty("name", 100),
            model = f.string("model", 100),
            os = f.string("os", 100),
            appVersion = f.string("app_version", 50),
            installId = f.id("install_id")
        )
    }
}

// PairRequest: POST /api/phone/v1/pair.
data class PairRequest(val pairingId: String, val secret: String, val device: DeviceInfo, val push: Push) {
    fun toJson(): JsonObject = jsonObject {
        put("v", VERSION)
        put("pairing_id", pairingId)
        put("secret", secret)
        put("device", device.toJson())
        put("push", push.toJson())
    }

    companion object {
        const val VERSION = 1L

        fun fromJson(v: JsonValue): PairRequest {
            val f = Fields.of(v)
            if (f.long("v") != VERSION) f.fail("v", "unsupported version")
            val pairingId = f.id("pairing_id")
            val secret = f.string("secret", 64)
            if (!Ids.isSecret(secret)) f.fail("secret", "must be 32 bytes in base64url without padding")
            return PairRequest(pairingId, secret, DeviceInfo.read(f.obj("device")), Push.read(f.obj("push")))
        }
    }
}

// PairResponse: 201 to the pair request. The device shows confirmCode; the
// credential works once the user confirms the same code on the CRM page.
data class PairResponse(
    val deviceId: String,
    val deviceToken: String,
    val confirmCode: String,
    val status: String,
    val serverTime: Timestamp
) {
    fun toJson(): JsonObject = jsonObject {
        put("device_id", deviceId)
        put("device_token", deviceToken)
        put("confirm_code", confirmCode)
        put("status", status)
        put("server_time", serverTime.text)
    }

    companion object {
        fun fromJson(v: JsonValue): PairResponse {
            val f = Fields.of(v)
            val deviceId = f.id("device_id")
            val token = f.nonEmpty("device_token", 512)
            if (token.any { it <= ' ' || it > '~' }) f.fail("device_token", "must be printable ASCII")
            val code = f.string("confirm_code", 8)
            if (!Ids.isConfirmCode(code)) f.fail("confirm_code", "must be 4 digits")
            return PairResponse(deviceId, token, code, f.nonEmpty("status", 64), f.timestamp("server_time"))
        }
    }
}

object DeviceState {
    const val PENDING_CONFIRMATION = "pending_confirmation"
    const val ACTIVE = "active"
    const val REVOKED = "revoked"
}

// DeviceStatus: GET /api/phone/v1/device. status is read as any non-empty
// string (the CRM may add states); pollWaitS is how long a long-poll may
// wait, 25 s when the CRM does not say, always within 1..60.
data class DeviceStatus(val status: String, val serverTime: Timestamp, val pollWaitS: Long) {
    fun toJson(): JsonObject = jsonObject {
        put("status", status)
        put("server_time", serverTime.text)
        put("poll", jsonObject { put("wait_s", pollWaitS) })
    }

    companion object {
        const val DEFAULT_WAIT_S = 25L

        fun fromJson(v: JsonValue): DeviceStatus {
            val f = Fields.of(v)
            val status = f.nonEmpty("status", 64)
            val time = f.timestamp("server_time")
            val poll = f.optObj("poll")
            val wait = poll?.optLong("wait_s") ?: DEFAULT_WAIT_S
            if (wait < 1 || wait > 60) poll!!.fail("wait_s", "must be within 1..60")
            return DeviceStatus(status, time, wait)
        }
    }
}

// PushTokenUpdate: PUT /api/phone/v1/device/push.
object PushTokenUpdate {
    fun toJson(push: Push): JsonObject = push.toJson()
    fun fromJson(v: JsonValue): Push = Push.fromJson(v)
}

data class PhoneNumber(val e164: String, val display: String)

data class ContactInfo(val name: String?, val company: String?)

object CommandType {
    const val CALL_REQUEST = "call_request"
    const val UNPAIRED = "unpaired"
}

// Command: one item of GET /api/phone/v1/commands and the body of
// GET /api/phone/v1/commands/{id}. A call_request carries the phone; an
// unpaired command tells the app its credential is gone. Any other type is
// read (so a newer CRM does not break the poll) and ignored by the app.
data class Command(
    val id: String,
    val type: String,
    val createdAt: Timestamp,
    val expiresAt: Timestamp,
    val phone: PhoneNumber?,
    val contact: ContactInfo?,
    val status: String
) {
    val isCallRequest: Boolean get() = type == CommandType.CALL_REQUEST

    fun toJson(): JsonObject = jsonObject {
        put("id", id)
        put("type", type)
        put("created_at", createdAt.text)
        put("expires_at", expiresAt.text)
        if (phone != null) put("phone", jsonObject {
            put("e164", phone.e164)
            put("display", phone.display)
        })
        if (contact != null) put("contact", jsonObject {
            put("name", contact.name)
            put("company", contact.company)
        })
        put("status", status)
    }

    companion object {
        fun read(f: Fields): Command {
            val id = f.id("id")
            val type = f.nonEmpty("type", 64)
            val created = f.timestamp("created_at")
            val expires = f.timestamp("expires_at")
            if (expires < created) f.fail("expires_at", "must not be before created_at")
            var phone: PhoneNumber? = null
            val p = f.optObj("phone")
            if (p != null) {
                val e164 = p.string("e164", 16)
                if (!Ids.isE164(e164)) p.fail("e164", "must be an E.164 number (+ and 7–15 digits)")
                phone = PhoneNumber(e164, p.nonEmpty("display", 64))
            } else if (type == CommandType.CALL_REQUEST) {
                f.fail("phone", "required for a call_request")
            }
            val c = f.optObj("contact")
            val contact = if (c == null) null else ContactInfo(c.optString("name", 300), c.optString("company", 300))
            val status = f.string("status", 64)
            if (CallStatus.of(status) == null) f.fail("status", "unknown status")
            return Command(id, type, created, expires, phone, contact, status)
        }

        fun fromJson(v: JsonValue): Command = read(Fields.of(v))
    }
}

// CommandList: the long-poll's answer, {"commands": [Command, …]}.
data class CommandList(val commands: List<Command>) {
    fun toJson(): JsonObject = jsonObject {
        put("commands", JsonArray(commands.map { it.toJson() }))
    }

    companion object {
        fun fromJson(v: JsonValue): CommandList = CommandList(Fields.of(v).objects("commands").map { Command.read(it) })
    }
}

object AckType {
    const val DELIVERED = "delivered"
    const val OPENED = "opened"
    const val DIALED = "dialed"
    const val CANCELLED = "cancelled"
    const val ERROR = "error"
    val ALL = listOf(DELIVERED, OPENED, DIALED, CANCELLED, ERROR)
}

// CommandEvent: POST /api/phone/v1/commands/{id}/events. eventId is made once
// per acknowledgement and kept across retries, so a repeat is harmless.
// detail says what went wrong for an error event.
data class CommandEvent(val eventId: String, val type: String, val deviceAt: Timestamp, val channel: String, val detail: String? = null) {
    fun toJson(): JsonObject = jsonObject {
        put("event_id", eventId)
        put("type", type)
        put("device_at", deviceAt.text)
        put("channel", channel)
        put("detail", detail)
    }

    companion object {
        fun fromJson(v: JsonValue): CommandEvent {
            val f = Fields.of(v)
            return CommandEvent(
                eventId = f.id("event_id"),
                type = f.oneOf("type", AckType.ALL),
                deviceAt = f.timestamp("device_at"),
                channel = f.oneOf("channel", Channel.ALL),
                detail = f.optString("detail", 500)
            )
        }
    }
}

// CommandEventAnswer: 200 {"status"} to an acknowledgement.
data class CommandEventAnswer(val status: CallStatus) {
    fun toJson(): JsonObject = jsonObject { put("status", status.wire) }

    companion object {
        fun fromJson(v: JsonValue): CommandEventAnswer {
            val f = Fields.of(v)
            val s = f.string("status", 64)
            return CommandEventAnswer(CallStatus.of(s) ?: f.fail("status", "unknown status"))
        }
    }
}

// DeviceError: the body of a device endpoint's refusal, {"error": code}
// with an optional human "detail".
data class DeviceError(val error: String, val detail: String?) {
    fun toJson(): JsonObject = jsonObject {
        put("error", error)
        put("detail", detail)
    }

    companion object {
        const val INVALID_PAIRING = "invalid_pairing"
        const val PAIRING_EXPIRED = "pairing_expired"
        const val TOO_MANY_ATTEMPTS = "too_many_attempts"
        const val DEVICE_REVOKED = "device_revoked"

        fun fromJson(v: JsonValue): DeviceError {
            val f = Fields.of(v)
            return DeviceError(f.nonEmpty("error", 64), f.optString("detail", 1000))
        }
    }
}

// FcmData: the data of the FCM message as the phone receives it (every
// value a string): the request id and its expiry, no names or numbers.
data class FcmData(val id: String, val expiresAt: Timestamp) {
    fun toMap(): Map<String, String> = linkedMapOf("v" to VERSION, "type" to CommandType.CALL_REQUEST, "id" to id, "exp" to expiresAt.text)

    companion object {
        const val VERSION = "1"

        fun fromMap(data: Map<String, String>, path: String = "data"): FcmData {
            val f = Fields(JsonObject(data.mapValues { JsonString(it.value) }), path)
            if (f.string("v", 8) != VERSION) f.fail("v", "unsupported version")
            if (f.string("type", 64) != CommandType.CALL_REQUEST) f.fail("type", "must be call_request")
            return FcmData(f.id("id"), f.timestamp("exp"))
        }
    }
}

// FcmSend: the body the CRM posts to FCM's messages:send. The phone never
// builds it; it is here so the shared vectors pin the whole message.
data class FcmSend(val token: String, val data: FcmData, val ttlSeconds: Long) {
    fun toJson(): JsonObject = jsonObject {
        put("message", jsonObject {
            put("token", token)
            put("data", JsonObject(data.toMap().mapValues { JsonString(it.value) }))
            put("android", jsonObject {
                put("priority", "HIGH")
                put("ttl", "${ttlSeconds}s")
                put("collapse_key", CommandType.CALL_REQUEST)
            })
        })
    }

    companion object {
        private val TTL = Regex("([0-9]{1,7})s")

        fun fromJson(v: JsonValue): FcmSend {
            val m = Fields.of(v).obj("message")
            val token = m.nonEmpty("token", 4096)
            val d = m.obj("data")
            val data = JsonObject(LinkedHashMap<String, JsonValue>().also { map ->
                for (k in listOf("v", "type", "id", "exp")) map[k] = JsonString(d.string(k, 64))
            })
            val fcm = FcmData.fromMap(data.members.mapValues { (it.value as JsonString).value }, m.name("data"))
            val a = m.obj("android")
            if (a.string("priority", 16) != "HIGH") a.fail("priority", "must be HIGH")
            val ttl = TTL.matchEntire(a.string("ttl", 16)) ?: a.fail("ttl", "must be seconds, like \"90s\"")
            val seconds = ttl.groupValues[1].toLong()
            if (seconds < 1 || seconds > 600) a.fail("ttl", "must be within 1s..600s")
            if (a.string("collapse_key", 64) != CommandType.CALL_REQUEST) a.fail("collapse_key", "must be call_request")
            return FcmSend(token, fcm, seconds)
        }
    }
}
