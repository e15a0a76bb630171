package ru.crmprofi.phone.protocol

// RetryPolicy: exponential back-off for calls to the CRM that failed for a
// reason worth retrying (no network, 5xx, 429). A delay never takes the
// next attempt to or past the deadline — the request's expiry — where the
// attempt would be pointless: nextDelay then answers null (give up).
//
// The n-th retry (n from 1) waits initialMs·multiplierⁿ⁻¹, at most maxMs,
// less up to jitter of it (random in [0, 1) picks how much, so phones do not
// retry in step); a Retry-After from the CRM is a lower bound.
class RetryPolicy(
    val initialMs: Long = 1000,
    val maxMs: Long = 30000,
    val multiplier: Double = 2.0,
    val jitter: Double = 0.2
) {
    init {
        require(initialMs > 0 && maxMs >= initialMs && multiplier >= 1.0 && jitter >= 0.0 && jitter < 1.0)
    }

    fun baseDelayMs(retry: Int): Long {
        require(retry >= 1)
        var d = initialMs.toDouble()
        for (i in 1 until retry) {
            d *= multiplier
            if (d >= maxMs) return maxMs
        }
        return minOf(d.toLong(), maxMs)
    }

    fun nextDelay(retry: Int, nowMs: Long, deadlineMs: Long, retryAfterMs: Long? = null, random: Double = 0.0): Long? {
        var delay = baseDelayMs(retry)
        delay -= (delay * jitter * random).toLong()
        if (retryAfterMs != null && retryAfterMs > delay) delay = retryAfterMs
        if (nowMs + delay >= deadlineMs) return null
        return delay
    }
}

// Attempt is what one try of a retried call came to.
sealed class Attempt<out T> {
    class Done<T>(val value: T) : Attempt<T>()

    // Retry: worth trying again; retryAfterMs is the CRM's Retry-After.
    class Retry(val reason: String, val retryAfterMs: Long? = null) : Attempt<Nothing>()

    // Fail: trying again would not help (401, 400, 404).
    class Fail(val reason: String) : Attempt<Nothing>()
}

// Clock and sleep are passed in so tests run the schedule without waiting.
interface Clock {
    fun nowMillis(): Long
}

object SystemClock : Clock {
    override fun nowMillis(): Long = System.currentTimeMillis()
}

class GaveUp(val reason: String, val attempts: Int) : Exception("gave up after $attempts attempts: $reason")

class Retrier(
    private val policy: RetryPolicy,
    private val clock: Clock = SystemClock,
    private val sleep: (Long) -> Unit = { Thread.sleep(it) },
    private val random: () -> Double = { Math.random() }
) {
    // run tries block until it is done, fails for good, or the next try
    // would start at or after deadlineMs; the last two throw GaveUp.
    fun <T> run(deadlineMs: Long, block: (attempt: Int) -> Attempt<T>): T {
        var attempt = 1
        while (true) {
            if (clock.nowMillis() >= deadlineMs) throw GaveUp("deadline passed", attempt - 1)
            when (val a = block(attempt)) {
                is Attempt.Done -> return a.value
                is Attempt.Fail -> throw GaveUp(a.reason, attempt)
                is Attempt.Retry -> {
                    val delay = policy.nextDelay(attempt, clock.nowMillis(), deadlineMs, a.retryAfterMs, random())
                        ?: throw GaveUp(a.reason, attempt)
                    sleep(delay)
                }
            }
            attempt++
        }
    }
}
