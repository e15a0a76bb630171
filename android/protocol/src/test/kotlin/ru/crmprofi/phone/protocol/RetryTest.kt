package ru.crmprofi.phone.protocol

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class RetryTest {
    private class FakeClock(var now: Long) : Clock {
        override fun nowMillis(): Long = now
    }

    @Test
    fun schedulesFromTheVectors() {
        val doc = Vectors.load("retry_schedules.json")
        for (s in Vectors.list(doc, "schedules")) {
            val name = Vectors.str(s, "name")
            val p = s["policy"] as JsonObject
            val policy = RetryPolicy(Vectors.long(p, "initial_ms"), Vectors.long(p, "max_ms"), Vectors.double(p, "multiplier"), Vectors.double(p, "jitter"))
            val retryAfter = (s["retry_after_ms"] as? JsonObject)?.members?.mapValues { (it.value as JsonNumber).longOrNull()!! } ?: emptyMap()
            val clock = FakeClock(Vectors.long(s, "start_ms"))
            val attemptMs = Vectors.long(s, "attempt_ms")
            val slept = ArrayList<Long>()
            var attempts = 0
            val retrier = Retrier(policy, clock, { ms -> slept.add(ms); clock.now += ms }, { 0.0 })
            try {
                retrier.run<Unit>(Vectors.long(s, "deadline_ms")) { attempt ->
                    attempts = attempt
                    clock.now += attemptMs
                    Attempt.Retry("503", retryAfter[attempt.toString()])
                }
                fail("$name: a call that always fails succeeded")
            } catch (e: GaveUp) {
                assertEquals("$name: attempts", Vectors.long(s, "attempts").toInt(), attempts)
            }
            val want = (s["delays_ms"] as JsonArray).items.map { (it as JsonNumber).longOrNull()!! }
            assertEquals("$name: delays", want, slept)
            assertTrue("$name: last attempt before the deadline", clock.now - attemptMs < Vectors.long(s, "deadline_ms") || attempts == 0)
        }
    }

    @Test
    fun jitterOnlyShortens() {
        val p = RetryPolicy(1000, 30000, 2.0, 0.2)
        for (r in listOf(0.0, 0.5, 0.999)) {
            val d = p.nextDelay(3, 0, 1_000_000, null, r)!!
            assertTrue("$r: $d", d in 3200..4000)
        }
    }

    @Test
    fun doneAndFailStopAtOnce() {
        val clock = FakeClock(0)
        val retrier = Retrier(RetryPolicy(), clock, { clock.now += it }, { 0.0 })
        var n = 0
        val v = retrier.run(60_000) { attempt ->
            n = attempt
            if (attempt < 3) Attempt.Retry("offline") else Attempt.Done("ok")
        }
        assertEquals("ok", v)
        assertEquals(3, n)
        try {
            retrier.run<String>(60_000) { Attempt.Fail("401") }
            fail("a refusal was retried")
        } catch (e: GaveUp) {
            assertEquals(1, e.attempts)
        }
    }
}
