package ru.crmprofi.phone.protocol

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

class CallRequestStateTest {
    @Test
    fun scenariosFromTheVectors() {
        val doc = Vectors.load("call_request_scenarios.json")
        val scenarios = Vectors.list(doc, "scenarios")
        assertTrue(scenarios.size >= 10)
        for (sc in scenarios) {
            val name = Vectors.str(sc, "name")
            val state = CallRequestState(Vectors.str(sc, "id"), Timestamp.parse(Vectors.str(sc, "expires_at")))
            for ((i, step) in Vectors.list(sc, "steps").withIndex()) {
                val at = "$name, step ${i + 1}"
                val expect = step["expect"] as JsonObject
                val event = step["event"] as? JsonObject
                if (event != null) {
                    val out = state.apply(CallEvent(
                        Vectors.str(event, "event_id"), Vectors.str(event, "type"),
                        Timestamp.parse(Vectors.str(event, "at")), Vectors.str(event, "channel")))
                    assertEquals("$at: answer", Vectors.str(expect, "answer"), out.answer.wire)
                    assertEquals("$at: late", Vectors.bool(expect, "late"), out.late)
                    assertEquals("$at: duplicate", Vectors.bool(expect, "duplicate"), out.duplicate)
                } else {
                    val changed = state.tick(Timestamp.parse(Vectors.str(step, "tick")))
                    assertEquals("$at: changed", Vectors.bool(expect, "changed"), changed)
                }
                assertEquals("$at: status", Vectors.str(expect, "status"), state.status.wire)
            }
            val final = sc["final"] as JsonObject
            assertEquals("$name: final status", Vectors.str(final, "status"), state.status.wire)
            val want = Vectors.list(final, "events").map { Vectors.str(it, "type") + if (Vectors.bool(it, "late")) " (late)" else "" }
            val got = state.events.map { it.type + if (it.late) " (late)" else "" }
            assertEquals("$name: recorded events", want, got)
        }
    }

    @Test
    fun statusOrder() {
        assertTrue(CallStatus.PENDING.rank < CallStatus.SENT.rank)
        assertTrue(CallStatus.SENT.rank < CallStatus.DELIVERED.rank)
        assertTrue(CallStatus.DELIVERED.rank < CallStatus.OPENED.rank)
        for (s in listOf(CallStatus.DIALED, CallStatus.CANCELLED, CallStatus.EXPIRED, CallStatus.FAILED, CallStatus.SUPERSEDED, CallStatus.WITHDRAWN)) {
            assertTrue(s.wire, s.isFinal)
            assertEquals(s, CallStatus.of(s.wire))
        }
        assertEquals(null, CallStatus.of("ringing"))
    }

    @Test(expected = IllegalArgumentException::class)
    fun unknownEventTypeIsABug() {
        CallRequestState("x", Timestamp.parse("2026-12-04T12:02:00Z"))
            .apply(CallEvent("e", "ringing", Timestamp.parse("2026-12-04T12:00:00Z"), "fcm"))
    }
}
