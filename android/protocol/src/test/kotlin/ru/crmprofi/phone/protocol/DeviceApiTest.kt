package ru.crmprofi.phone.protocol

import com.sun.net.httpserver.HttpExchange
import com.sun.net.httpserver.HttpServer
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Before
import org.junit.Test
import java.net.InetSocketAddress
import java.util.Collections

// DeviceApi against a real HTTP server on loopback that answers with the
// shared vectors, the way the CRM will.
class DeviceApiTest {
    private lateinit var server: HttpServer
    private lateinit var base: String
    private val seen: MutableList<String> = Collections.synchronizedList(ArrayList())
    private val bodies: MutableList<String> = Collections.synchronizedList(ArrayList())
    private var ackFailures = 0
    private val cred = DeviceCredential("d_8c1f", "kq0m5Yb3Zt1vW9xR2nL7pA4sD6fG8hJ0")

    private fun valid(file: String, i: Int = 0): String = Json.write(Vectors.list(Vectors.load(file), "valid")[i]["json"]!!)

    private fun reply(x: HttpExchange, status: Int, body: String, retryAfter: String? = null) {
        val bytes = body.toByteArray(Charsets.UTF_8)
        x.responseHeaders.add("Content-Type", "application/json")
        if (retryAfter != null) x.responseHeaders.add("Retry-After", retryAfter)
        x.sendResponseHeaders(status, if (bytes.isEmpty()) -1 else bytes.size.toLong())
        if (bytes.isNotEmpty()) x.responseBody.use { it.write(bytes) } else x.close()
    }

    @Before
    fun start() {
        server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
        server.createContext("/") { x ->
            val body = x.requestBody.readBytes().toString(Charsets.UTF_8)
            val auth = x.requestHeaders.getFirst("Authorization")
            seen.add("${x.requestMethod} ${x.requestURI}")
            bodies.add(body)
            val path = x.requestURI.path
            when {
                path == "/crm/api/phone/v1/pair" -> {
                    val req = PairRequest.fromJson(Json.parse(body))
                    if (req.secret.startsWith("AAEC")) reply(x, 201, valid("pair_response.json")) else reply(x, 410, """{"error":"pairing_expired"}""")
                }
                auth != cred.authorization() -> reply(x, 401, """{"error":"device_revoked"}""")
                path == "/crm/api/phone/v1/device" -> reply(x, 200, valid("device_status.json"))
                path == "/crm/api/phone/v1/device/push" -> reply(x, 200, "{}")
                path == "/crm/api/phone/v1/commands" -> reply(x, 200, valid("commands.json", 1))
                path == "/crm/api/phone/v1/commands/cr_1001" -> reply(x, 200, valid("command.json"))
                path == "/crm/api/phone/v1/commands/cr_1001/events" -> {
                    CommandEvent.fromJson(Json.parse(body))
                    if (ackFailures > 0) {
                        ackFailures--
                        reply(x, 503, "<html>Bad gateway</html>", retryAfter = "1")
                    } else {
                        reply(x, 200, """{"status":"delivered"}""")
                    }
                }
                else -> reply(x, 404, """{"detail":"Не найдено."}""")
            }
        }
        server.start()
        base = "http://127.0.0.1:${server.address.port}/crm/"
    }

    private var stopped = false

    @After
    fun stop() {
        if (!stopped) server.stop(0)
        stopped = true
    }

    private fun api(c: DeviceCredential? = cred) = DeviceApi(base, UrlConnectionTransport(), { c })

    @Test
    fun pairsAndTalks() {
        val doc = Vectors.load("pair_request.json")
        val req = PairRequest.fromJson(Vectors.list(doc, "valid")[0]["json"]!!)
        val paired = api(null).pair(req)
        assertEquals("0473", paired.confirmCode)
        assertEquals("POST /crm/api/phone/v1/pair", seen[0])
        assertEquals(req, PairRequest.fromJson(Json.parse(bodies[0])))

        assertEquals(25L, api().status().pollWaitS)
        api().updatePush(Push(PushProvider.FCM, "new"))
        val list = api().poll(25)
        assertEquals("cr_1001", list.commands.single().id)
        assertTrue(seen.contains("GET /crm/api/phone/v1/commands?wait=25"))
        val cmd = api().command("cr_1001")
        assertEquals("+74951234567", cmd.phone!!.e164)
        val ev = CommandEvent("ev1", AckType.DELIVERED, Timestamp.parse("2026-12-04T12:00:01Z"), Channel.POLL)
        assertEquals(CallStatus.DELIVERED, api().acknowledge("cr_1001", ev).status)
    }

    @Test
    fun refusalsHaveKinds() {
        val doc = Vectors.load("pair_request.json")
        val req = PairRequest.fromJson(Vectors.list(doc, "valid")[0]["json"]!!).copy(secret = "__79_Pv6-fj39vX08_Lx8O_u7ezr6uno5-bl5OPi4eA")
        try {
            api(null).pair(req)
            fail("expired pairing accepted")
        } catch (e: DeviceApiException) {
            assertEquals(DeviceApiException.Kind.REFUSED, e.kind)
            assertEquals(410, e.status)
            assertEquals(DeviceError.PAIRING_EXPIRED, e.error!!.error)
        }
        try {
            api(DeviceCredential("d_8c1f", "old")).status()
            fail("old credential accepted")
        } catch (e: DeviceApiException) {
            assertEquals(DeviceApiException.Kind.REVOKED, e.kind)
            assertEquals(DeviceError.DEVICE_REVOKED, e.error!!.error)
        }
        try {
            api().command("cr_404")
            fail("missing command found")
        } catch (e: DeviceApiException) {
            assertEquals(DeviceApiException.Kind.REFUSED, e.kind)
            assertNull(e.error)
        }
    }

    @Test
    fun acknowledgementIsRetriedWithTheSameEventId() {
        ackFailures = 2
        val ev = CommandEvent("ev-same", AckType.OPENED, Timestamp.parse("2026-12-04T12:00:01Z"), Channel.FCM)
        val slept = ArrayList<Long>()
        val retrier = Retrier(RetryPolicy(10, 100, 2.0, 0.0), SystemClock, { slept.add(it) }, { 0.0 })
        val answer = retrier.run(System.currentTimeMillis() + 60_000) { attempt { api().acknowledge("cr_1001", ev) } }
        assertEquals(CallStatus.DELIVERED, answer.status)
        assertEquals(listOf(1000L, 1000L), slept) // Retry-After: 1 s beats the 10 ms back-off
        val events = bodies.filter { it.contains("ev-same") }
        assertEquals(3, events.size)
        assertEquals(1, events.toSet().size)
    }

    @Test
    fun noAnswerIsUnavailable() {
        stop()
        try {
            api().status()
            fail("answered with the server stopped")
        } catch (e: DeviceApiException) {
            assertEquals(DeviceApiException.Kind.UNAVAILABLE, e.kind)
        }
    }
}
