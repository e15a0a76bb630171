package ru.crmprofi.phone

import android.content.Context
import ru.crmprofi.phone.protocol.CallStatus
import ru.crmprofi.phone.protocol.Command
import ru.crmprofi.phone.protocol.Json
import ru.crmprofi.phone.protocol.JsonArray
import ru.crmprofi.phone.protocol.JsonObject
import ru.crmprofi.phone.protocol.JsonSyntaxException
import ru.crmprofi.phone.protocol.jsonObject

// HistoryEntry is one call request as this phone saw it.
data class HistoryEntry(
    val id: String,
    val e164: String,
    val display: String,
    val contact: String?,
    val company: String?,
    val channel: String,
    val receivedAt: Long,
    val expiresAt: Long,
    val status: CallStatus
) {
    // shownStatus is the status with the expiry applied.
    fun shownStatus(now: Long): CallStatus = if (!status.isFinal && now >= expiresAt) CallStatus.EXPIRED else status
}

// HistoryStore keeps the last MAX call requests (the «История» screen and the
// card read it). A status only moves forward, as on the CRM.
class HistoryStore(context: Context) {
    private val prefs = context.getSharedPreferences("history", Context.MODE_PRIVATE)
    private val entries = ArrayList<HistoryEntry>()

    init {
        load()
    }

    @Synchronized
    fun add(command: Command, channel: String, now: Long) {
        if (entries.any { it.id == command.id }) return
        val phone = command.phone ?: return
        entries.add(0, HistoryEntry(
            command.id, phone.e164, phone.display, command.contact?.name, command.contact?.company, channel,
            now, command.expiresAt.epochMillis, CallStatus.DELIVERED
        ))
        while (entries.size > MAX) entries.removeAt(entries.size - 1)
        save()
    }

    // advance moves an entry's status forward; it tells whether it did.
    @Synchronized
    fun advance(id: String, status: CallStatus): Boolean {
        val i = entries.indexOfFirst { it.id == id }
        if (i < 0) return false
        val e = entries[i]
        if (e.status.isFinal || status.rank <= e.status.rank) return false
        entries[i] = e.copy(status = status)
        save()
        return true
    }

    @Synchronized
    fun get(id: String): HistoryEntry? = entries.firstOrNull { it.id == id }

    @Synchronized
    fun all(): List<HistoryEntry> = ArrayList(entries)

    @Synchronized
    fun clear() {
        entries.clear()
        save()
    }

    private fun save() {
        val arr = JsonArray(entries.map { e ->
            jsonObject {
                put("id", e.id)
                put("e164", e.e164)
                put("display", e.display)
                put("contact", e.contact)
                put("company", e.company)
                put("channel", e.channel)
                put("received_at", e.receivedAt)
                put("expires_at", e.expiresAt)
                put("status", e.status.wire)
            }
        })
        prefs.edit().putString(KEY, Json.write(arr)).apply()
    }

    private fun load() {
        val text = prefs.getString(KEY, null) ?: return
        val arr = try {
            Json.parse(text) as? JsonArray
        } catch (e: JsonSyntaxException) {
            null
        } ?: return
        for (item in arr.items) {
            val o = item as? JsonObject ?: continue
            try {
                entries.add(HistoryEntry(
                    str(o, "id")!!, str(o, "e164")!!, str(o, "display")!!, str(o, "contact"), str(o, "company"),
                    str(o, "channel")!!, num(o, "received_at"), num(o, "expires_at"),
                    CallStatus.of(str(o, "status")!!)!!
                ))
            } catch (e: NullPointerException) {
                // An entry written by an older version: skipped.
            }
        }
    }

    private fun str(o: JsonObject, name: String): String? = (o[name] as? ru.crmprofi.phone.protocol.JsonString)?.value

    private fun num(o: JsonObject, name: String): Long = (o[name] as? ru.crmprofi.phone.protocol.JsonNumber)?.longOrNull() ?: 0L

    private companion object {
        const val KEY = "entries"
        const val MAX = 50
    }
}

// statusText: a status in the user's words.
fun statusText(status: CallStatus): String = when (status) {
    CallStatus.PENDING -> "Ожидает"
    CallStatus.SENT -> "Отправлен"
    CallStatus.DELIVERED -> "Доставлен"
    CallStatus.OPENED -> "Открыт"
    CallStatus.DIALED -> "Набран"
    CallStatus.CANCELLED -> "Отменён"
    CallStatus.EXPIRED -> "Истёк"
    CallStatus.FAILED -> "Ошибка"
    CallStatus.SUPERSEDED -> "Заменён новым"
    CallStatus.WITHDRAWN -> "Отозван"
}
