package ru.crmprofi.phone.protocol

// Deduplicator remembers the request ids already shown, so a request that
// arrives through FCM and through the long-poll (or twice through either)
// is shown once. An id is kept until keepMs after its request expires (a
// command past its expiry is never shown anyway), at most capacity ids, the
// oldest forgotten first. Safe to call from several threads.
class Deduplicator(private val capacity: Int = 512, private val keepMs: Long = 10 * 60 * 1000L) {
    private val forgetAt = LinkedHashMap<String, Long>()

    // firstSeen tells whether id is new, and remembers it.
    @Synchronized
    fun firstSeen(id: String, nowMs: Long, expiresAtMs: Long): Boolean {
        prune(nowMs)
        if (forgetAt.containsKey(id)) return false
        forgetAt[id] = maxOf(expiresAtMs, nowMs) + keepMs
        while (forgetAt.size > capacity) forgetAt.remove(forgetAt.keys.first())
        return true
    }

    @Synchronized
    fun size(): Int = forgetAt.size

    private fun prune(nowMs: Long) {
        val it = forgetAt.entries.iterator()
        while (it.hasNext()) if (it.next().value <= nowMs) it.remove()
    }

    // snapshot/restore keep the ids across a restart of the app's process.
    @Synchronized
    fun snapshot(): String = Json.write(JsonObject(forgetAt.mapValues { JsonNumber.of(it.value) }))

    @Synchronized
    fun restore(text: String) {
        forgetAt.clear()
        val v = try {
            Json.parse(text)
        } catch (e: JsonSyntaxException) {
            return
        }
        if (v !is JsonObject) return
        for ((id, at) in v.members) {
            val ms = (at as? JsonNumber)?.longOrNull() ?: continue
            forgetAt[id] = ms
        }
    }
}

// Decision: what the app does with a command it has fetched.
enum class Decision { SHOW, DUPLICATE, CLOSED, UNPAIRED, IGNORED }

// CommandInbox decides, for each command from either channel, whether the
// phone shows it: a call request once, and only before it expires or
// reaches a final status (CLOSED otherwise); an unpaired command ends the pairing; any other
// type is ignored.
class CommandInbox(private val dedup: Deduplicator) {
    fun accept(command: Command, nowMs: Long): Decision {
        if (command.type == CommandType.UNPAIRED) return Decision.UNPAIRED
        if (!command.isCallRequest) return Decision.IGNORED
        val status = CallStatus.of(command.status)
        if (nowMs >= command.expiresAt.epochMillis || status == null || status.isFinal) return Decision.CLOSED
        return if (dedup.firstSeen(command.id, nowMs, command.expiresAt.epochMillis)) Decision.SHOW else Decision.DUPLICATE
    }
}
