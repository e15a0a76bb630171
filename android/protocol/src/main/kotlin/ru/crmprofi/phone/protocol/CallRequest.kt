package ru.crmprofi.phone.protocol

// CallStatus: a call request's status (shared/api.md «Call from phone»).
// rank orders them: pending → sent → delivered → opened → one final status.
enum class CallStatus(val wire: String, val rank: Int) {
    PENDING("pending", 0),
    SENT("sent", 1),
    DELIVERED("delivered", 2),
    OPENED("opened", 3),
    DIALED("dialed", FINAL_RANK),
    CANCELLED("cancelled", FINAL_RANK),
    EXPIRED("expired", FINAL_RANK),
    FAILED("failed", FINAL_RANK),
    SUPERSEDED("superseded", FINAL_RANK),
    WITHDRAWN("withdrawn", FINAL_RANK);

    val isFinal: Boolean get() = rank == FINAL_RANK

    companion object {
        fun of(wire: String): CallStatus? = values().firstOrNull { it.wire == wire }
    }
}

private const val FINAL_RANK = 4

// CallEventType: what can happen to a request. The phone reports delivered,
// opened, dialed, cancelled and error; the CRM itself records sent (pushed
// or handed to the long-poll), failed, superseded, withdrawn and expired.
object CallEventType {
    const val SENT = "sent"
    const val FAILED = "failed"
    const val SUPERSEDED = "superseded"
    const val WITHDRAWN = "withdrawn"
    const val EXPIRED = "expired"

    // target is the status an event moves the request to.
    fun target(type: String): CallStatus? = when (type) {
        SENT -> CallStatus.SENT
        AckType.DELIVERED -> CallStatus.DELIVERED
        AckType.OPENED -> CallStatus.OPENED
        AckType.DIALED -> CallStatus.DIALED
        AckType.CANCELLED -> CallStatus.CANCELLED
        AckType.ERROR, FAILED -> CallStatus.FAILED
        SUPERSEDED -> CallStatus.SUPERSEDED
        WITHDRAWN -> CallStatus.WITHDRAWN
        EXPIRED -> CallStatus.EXPIRED
        else -> null
    }
}

// CallEvent is one event as it arrives: at is when it was received (the
// CRM's clock on the server, the phone's on the phone).
data class CallEvent(val eventId: String, val type: String, val at: Timestamp, val channel: String)

// RecordedEvent is an event as the request keeps it; late means it came
// after the status had already moved past it, and changed nothing.
data class RecordedEvent(val eventId: String, val type: String, val at: Timestamp, val channel: String, val late: Boolean)

// Outcome of applying one event: the status to answer with, whether the
// event was late, and whether its event id had been seen before (then
// nothing was recorded and answer is the first answer given to it).
data class Outcome(val answer: CallStatus, val late: Boolean, val duplicate: Boolean)

// CallRequestState is the state machine of one call request. The status
// only moves forward; a final status never changes; an event that would
// move it backwards or sideways is recorded as late; an event id seen
// before changes nothing and gets the same answer; once expiresAt has
// passed, a request that is not final becomes expired.
//
// Not thread-safe: a caller serialises access (the CRM in a transaction,
// the app on one thread).
class CallRequestState(val id: String, val expiresAt: Timestamp, status: CallStatus = CallStatus.PENDING) {
    var status: CallStatus = status
        private set

    private val recorded = ArrayList<RecordedEvent>()
    private val answers = HashMap<String, Outcome>()

    val events: List<RecordedEvent> get() = ArrayList(recorded)

    // apply records one event and moves the status when the event is ahead.
    fun apply(event: CallEvent): Outcome {
        answers[event.eventId]?.let { return Outcome(it.answer, it.late, duplicate = true) }
        val target = CallEventType.target(event.type) ?: throw IllegalArgumentException("unknown event type ${event.type}")
        tick(event.at)
        val late = status.isFinal || target.rank <= status.rank
        if (!late) status = target
        recorded.add(RecordedEvent(event.eventId, event.type, event.at, event.channel, late))
        val outcome = Outcome(status, late, duplicate = false)
        answers[event.eventId] = outcome
        return outcome
    }

    // tick expires the request when now has reached expiresAt; it tells
    // whether the status changed.
    fun tick(now: Timestamp): Boolean {
        if (status.isFinal || now < expiresAt) return false
        status = CallStatus.EXPIRED
        recorded.add(RecordedEvent("expired-$id", CallEventType.EXPIRED, expiresAt, "server", false))
        return true
    }
}
