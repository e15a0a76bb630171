package ru.crmprofi.phone.protocol

import java.io.IOException
import java.net.HttpURLConnection
import java.net.URL

// DeviceCredential is what pairing gives the phone; every device call but
// pair sends it as «Authorization: Device <device_id>.<device_token>».
data class DeviceCredential(val deviceId: String, val token: String) {
    fun authorization(): String = "Device $deviceId.$token"

    override fun toString(): String = "DeviceCredential($deviceId, …)" // never log the token
}

class HttpResponse(val status: Int, val body: String, val retryAfterMs: Long?)

// HttpTransport sends one request; it throws IOException when no answer
// came (no network, timeout).
interface HttpTransport {
    fun send(method: String, url: String, authorization: String?, body: String?, timeoutMs: Int): HttpResponse
}

class UrlConnectionTransport(private val userAgent: String = "CRM-Profi-Phone") : HttpTransport {
    override fun send(method: String, url: String, authorization: String?, body: String?, timeoutMs: Int): HttpResponse {
        val c = URL(url).openConnection() as HttpURLConnection
        try {
            c.requestMethod = method
            c.connectTimeout = minOf(timeoutMs, 10_000)
            c.readTimeout = timeoutMs
            c.instanceFollowRedirects = false
            c.useCaches = false
            c.setRequestProperty("Accept", "application/json")
            c.setRequestProperty("User-Agent", userAgent)
            if (authorization != null) c.setRequestProperty("Authorization", authorization)
            if (body != null) {
                val bytes = body.toByteArray(Charsets.UTF_8)
                c.doOutput = true
                c.setRequestProperty("Content-Type", "application/json; charset=utf-8")
                c.setFixedLengthStreamingMode(bytes.size)
                c.outputStream.use { it.write(bytes) }
            }
            val status = c.responseCode
            val stream = if (status >= 400) c.errorStream else c.inputStream
            val text = stream?.use { s -> s.readLimited(MAX_BODY) }?.toString(Charsets.UTF_8) ?: ""
            val retryAfter = c.getHeaderField("Retry-After")?.trim()?.toLongOrNull()?.let { it * 1000 }
            return HttpResponse(status, text, retryAfter)
        } finally {
            c.disconnect()
        }
    }

    private fun java.io.InputStream.readLimited(limit: Int): ByteArray {
        val out = java.io.ByteArrayOutputStream()
        val buf = ByteArray(8192)
        while (true) {
            val n = read(buf)
            if (n < 0) break
            out.write(buf, 0, n)
            if (out.size() > limit) throw IOException("answer longer than $limit bytes")
        }
        return out.toByteArray()
    }

    companion object {
        const val MAX_BODY = 1 shl 20
    }
}

// DeviceApiException: a device call did not succeed. kind says what to do:
// REVOKED — the credential is dead (401), forget the pairing;
// REFUSED — the CRM said no (other 4xx), retrying will not help;
// UNAVAILABLE — no answer, 5xx, 429 or an answer that is not the protocol's:
// worth retrying (retryAfterMs is the CRM's Retry-After).
class DeviceApiException(
    val kind: Kind,
    val status: Int,
    val error: DeviceError?,
    val retryAfterMs: Long? = null,
    cause: Throwable? = null
) : Exception("${kind.name} (HTTP $status${if (error != null) ", ${error.error}" else ""})", cause) {
    enum class Kind { REVOKED, REFUSED, UNAVAILABLE }
}

// DeviceApi: the phone's calls to the CRM (shared/api.md, device side).
class DeviceApi(
    baseUrl: String,
    private val transport: HttpTransport,
    private val credential: () -> DeviceCredential?
) {
    private val base = baseUrl.trimEnd('/')

    fun pair(request: PairRequest): PairResponse =
        PairResponse.fromJson(call("POST", "/api/phone/v1/pair", request.toJson(), auth = false))

    fun status(): DeviceStatus = DeviceStatus.fromJson(call("GET", "/api/phone/v1/device", null))

    fun updatePush(push: Push) {
        call("PUT", "/api/phone/v1/device/push", PushTokenUpdate.toJson(push))
    }

    fun unpair() {
        call("POST", "/api/phone/v1/device/unpair", JsonObject(emptyMap()))
    }

    // poll waits up to waitS seconds for commands (the long-poll).
    fun poll(waitS: Long): CommandList =
        CommandList.fromJson(call("GET", "/api/phone/v1/commands?wait=$waitS", null, timeoutMs = ((waitS + 15) * 1000).toInt()))

    fun command(id: String): Command {
        require(Ids.isId(id)) { "bad command id" }
        return Command.fromJson(call("GET", "/api/phone/v1/commands/$id", null))
    }

    fun acknowledge(commandId: String, event: CommandEvent): CommandEventAnswer {
        require(Ids.isId(commandId)) { "bad command id" }
        return CommandEventAnswer.fromJson(call("POST", "/api/phone/v1/commands/$commandId/events", event.toJson()))
    }

    private fun call(method: String, path: String, body: JsonValue?, auth: Boolean = true, timeoutMs: Int = 15_000): JsonValue {
        val authorization = if (auth) {
            (credential() ?: throw DeviceApiException(DeviceApiException.Kind.REVOKED, 0, null)).authorization()
        } else {
            null
        }
        val r = try {
            transport.send(method, base + path, authorization, body?.let { Json.write(it) }, timeoutMs)
        } catch (e: IOException) {
            throw DeviceApiException(DeviceApiException.Kind.UNAVAILABLE, 0, null, null, e)
        }
        val json = try {
            if (r.body.isBlank()) JsonObject(emptyMap()) else Json.parse(r.body)
        } catch (e: JsonSyntaxException) {
            null
        }
        if (r.status in 200..299) {
            return json ?: throw DeviceApiException(DeviceApiException.Kind.UNAVAILABLE, r.status, null)
        }
        val error = try {
            json?.let { DeviceError.fromJson(it) }
        } catch (e: ProtocolException) {
            null
        }
        val kind = when {
            r.status == 401 && auth -> DeviceApiException.Kind.REVOKED
            r.status == 429 && auth -> DeviceApiException.Kind.UNAVAILABLE
            r.status in 400..499 -> DeviceApiException.Kind.REFUSED
            else -> DeviceApiException.Kind.UNAVAILABLE
        }
        throw DeviceApiException(kind, r.status, error, r.retryAfterMs)
    }
}

// attempt runs one device call for a Retrier: a protocol error in a 2xx
// answer counts as unavailable (a proxy's page), a refusal ends the tries.
fun <T> attempt(block: () -> T): Attempt<T> = try {
    Attempt.Done(block())
} catch (e: DeviceApiException) {
    if (e.kind == DeviceApiException.Kind.UNAVAILABLE) Attempt.Retry(e.message ?: "unavailable", e.retryAfterMs) else Attempt.Fail(e.message ?: "refused")
} catch (e: ProtocolException) {
    Attempt.Retry("bad answer: ${e.message}")
}
