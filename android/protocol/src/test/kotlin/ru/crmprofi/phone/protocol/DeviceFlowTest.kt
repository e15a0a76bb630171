package ru.crmprofi.phone.protocol

import com.sun.net.httpserver.HttpExchange
import com.sun.net.httpserver.HttpServer
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import java.net.InetSocketAddress
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

// The phone's whole path for one call request, as the app runs it, against
// a small CRM on loopback that keeps each request in a CallRequestState:
// the request comes through the long-poll and through FCM at the same time,
// is shown once, and its acknowledgements move the CRM's status.
class DeviceFlowTest {
    private lateinit var server: HttpServer
    private lateinit var api: DeviceApi
    private val cred = DeviceCredential("d1", "token-1")
    private val revoked = java.util.concurrent.atomic.AtomicBoolean(false)
    private val t0 = System.currentTimeMillis()
    private val command = Command(
        "cr_7", CommandType.CALL_REQUEST, Timestamp.ofEpochMillis(t0), Timestamp.ofEpochMillis(t0 + 120_000),
        PhoneNumber("+74951234567", "+7 (495) 123-45-67"), ContactInfo("Пётр", "ООО «Ромашка»"), "sent"
    )
    private val state = CallRequestState(command.id, command.expiresAt)
    private val polls = AtomicInteger()
    private val acks = AtomicInteger()

    private fun reply(x: HttpExchange, status: Int, body: JsonValue) {
        val bytes = Json.write(body).toByteArray(Charsets.UTF_8)
        x.sendResponseHeaders(status, bytes.size.toLong())
        x.responseBody.use { it.write(bytes) }
    }

    @Before
    fun start() {
        state.apply(CallEvent("sent-1", CallEventType.SENT, Timestamp.ofEpochMillis(t0), "server"))
        server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
        server.executor = java.util.concurrent.Executors.newFixedThreadPool(4)
        server.createContext("/api/phone/v1/") { x ->
            val path = x.requestURI.path
            val body = x.requestBody.readBytes().toString(Charsets.UTF_8)
            if (revoked.get() || x.requestHeaders.getFirst("Authorization") != cred.authorization()) {
                reply(x, 401, DeviceError(DeviceError.DEVICE_REVOKED, null).toJson())
                return@createContext
            }
            val now = Timestamp.ofEpochMillis(System.currentTimeMillis())
            synchronized(state) {
                when (path) {
                    "/api/phone/v1/commands" -> {
                        polls.incrementAndGet()
                        val pending = if (state.status.rank < CallStatus.DELIVERED.rank) listOf(command.copy(status = state.status.wire)) else emptyList()
                        reply(x, 200, CommandList(pending).toJson())
                    }
                    "/api/phone/v1/commands/cr_7" -> reply(x, 200, command.copy(status = state.status.wire).toJson())
                    "/api/phone/v1/commands/cr_7/events" -> {
                        acks.incrementAndGet()
                        val ev = CommandEvent.fromJson(Json.parse(body))
                        val out = state.apply(CallEvent(ev.eventId, ev.type, now, ev.channel))
                        reply(x, 200, CommandEventAnswer(out.answer).toJson())
                    }
                    else -> reply(x, 404, DeviceError("not_found", null).toJson())
                }
            }
        }
        server.start()
        api = DeviceApi("http://127.0.0.1:${server.address.port}", UrlConnectionTransport(), { cred })
    }

    @After
    fun stop() = server.stop(0)

    private fun ack(id: String, type: String, channel: String): CallStatus {
        val ev = CommandEvent(java.util.UUID.randomUUID().toString(), type, Timestamp.ofEpochMillis(System.currentTimeMillis()), channel)
        return Retrier(RetryPolicy(10, 100)).run(command.expiresAt.epochMillis) { attempt { api.acknowledge(id, ev) } }.status
    }

    @Test
    fun sameRequestFromBothChannelsIsShownOnceAndDialed() {
        val inbox = CommandInbox(Deduplicator())
        val shown = AtomicInteger()
        val ready = CountDownLatch(1)
        val done = CountDownLatch(2)
        val deliver = { c: Command, channel: String ->
            if (inbox.accept(c, System.currentTimeMillis()) == Decision.SHOW) {
                shown.incrementAndGet()
                ack(c.id, AckType.DELIVERED, channel)
            }
        }
        val poll = Thread {
            ready.await()
            for (c in api.poll(0).commands) deliver(c, Channel.POLL)
            done.countDown()
        }
        val fcm = Thread {
            val data = FcmData.fromMap(FcmData(command.id, command.expiresAt).toMap())
            ready.await()
            deliver(api.command(data.id), Channel.FCM)
            done.countDown()
        }
        poll.start()
        fcm.start()
        ready.countDown()
        assertTrue(done.await(20, TimeUnit.SECONDS))
        assertEquals("shown once", 1, shown.get())
        assertEquals(CallStatus.DELIVERED, state.status)
        // Delivered: the long-poll no longer returns it.
        assertEquals(0, api.poll(0).commands.size)

        assertEquals(CallStatus.OPENED, ack(command.id, AckType.OPENED, Channel.POLL))
        assertEquals(CallStatus.DIALED, ack(command.id, AckType.DIALED, Channel.POLL))
        // A late cancel changes nothing.
        assertEquals(CallStatus.DIALED, ack(command.id, AckType.CANCELLED, Channel.POLL))
        assertEquals(listOf("sent", "delivered", "opened", "dialed", "cancelled (late)"),
            state.events.map { it.type + if (it.late) " (late)" else "" })
        assertEquals(4, acks.get())
    }

    @Test
    fun aRevokedPhoneIsToldSo() {
        revoked.set(true)
        try {
            api.poll(0)
            throw AssertionError("a revoked phone was served")
        } catch (e: DeviceApiException) {
            assertEquals(DeviceApiException.Kind.REVOKED, e.kind)
        }
        val gaveUp = try {
            Retrier(RetryPolicy(10, 100)).run(command.expiresAt.epochMillis) { attempt { api.status() } }
            false
        } catch (e: GaveUp) {
            e.attempts == 1
        }
        assertTrue("a revoked credential is not retried", gaveUp)
    }
}
