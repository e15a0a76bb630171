package ru.crmprofi.phone.protocol

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class DedupTest {
    @Test
    fun casesFromTheVectors() {
        val doc = Vectors.load("dedup.json")
        for (c in Vectors.list(doc, "cases")) {
            val name = Vectors.str(c, "name")
            val d = Deduplicator(Vectors.long(c, "capacity").toInt(), Vectors.long(c, "keep_ms"))
            for ((i, a) in Vectors.list(c, "arrivals").withIndex()) {
                val shown = d.firstSeen(Vectors.str(a, "id"), Vectors.long(a, "now_ms"), Vectors.long(a, "expires_at_ms"))
                assertEquals("$name, arrival ${i + 1} (${Vectors.str(a, "why")})", Vectors.bool(a, "show"), shown)
            }
        }
    }

    @Test
    fun survivesARestart() {
        val d = Deduplicator()
        assertTrue(d.firstSeen("cr_1", 1000, 121000))
        val again = Deduplicator()
        again.restore(d.snapshot())
        assertFalse(again.firstSeen("cr_1", 2000, 121000))
        again.restore("not json")
        assertEquals(0, again.size())
    }

    @Test
    fun concurrentChannelsShowOnce() {
        val d = Deduplicator()
        val shown = java.util.concurrent.atomic.AtomicInteger()
        val threads = (1..8).map {
            Thread { for (i in 0 until 200) if (d.firstSeen("cr_$i", 1000, 121000)) shown.incrementAndGet() }
        }
        threads.forEach { it.start() }
        threads.forEach { it.join() }
        assertEquals(200, shown.get())
    }

    @Test
    fun inboxDecisions() {
        val doc = Vectors.load("command.json")
        val valid = Vectors.list(doc, "valid")
        val call = Command.fromJson(valid[0]["json"]!!)
        val inbox = CommandInbox(Deduplicator())
        val now = call.createdAt.epochMillis + 500
        assertEquals(Decision.SHOW, inbox.accept(call, now))
        assertEquals(Decision.DUPLICATE, inbox.accept(call, now + 100))
        assertEquals(Decision.CLOSED, CommandInbox(Deduplicator()).accept(call, call.expiresAt.epochMillis))
        assertEquals(Decision.CLOSED, CommandInbox(Deduplicator()).accept(call.copy(status = "withdrawn"), now))
        assertEquals(Decision.UNPAIRED, inbox.accept(Command.fromJson(valid[4]["json"]!!), now))
        assertEquals(Decision.IGNORED, inbox.accept(Command.fromJson(valid[5]["json"]!!), now))
    }
}
