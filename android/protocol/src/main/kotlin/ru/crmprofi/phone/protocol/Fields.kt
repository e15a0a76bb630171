package ru.crmprofi.phone.protocol

// ProtocolException: a message is JSON but not what the protocol allows.
// field is the dotted path of the offending member ("device.name",
// "commands.0.phone.e164"), "" for the message as a whole.
class ProtocolException(val field: String, message: String) : Exception(if (field.length == 0) message else "$field: $message")

// Fields reads one JSON object of a message, naming members by their dotted
// path in every error.
class Fields(private val obj: JsonObject, private val path: String) {
    fun name(member: String): String = if (path.length == 0) member else "$path.$member"

    fun fail(member: String, message: String): Nothing = throw ProtocolException(name(member), message)

    fun has(member: String): Boolean = obj[member].let { it != null && it != JsonNull }

    fun string(member: String, maxLength: Int = 4096): String =
        optString(member, maxLength) ?: fail(member, "required")

    // nonEmpty is a required string that is not empty (nor only spaces).
    fun nonEmpty(member: String, maxLength: Int = 4096): String {
        val v = string(member, maxLength)
        if (v.isBlank()) fail(member, "must not be empty")
        return v
    }

    fun optString(member: String, maxLength: Int = 4096): String? {
        val v = obj[member] ?: return null
        return when (v) {
            JsonNull -> null
            is JsonString -> {
                if (v.value.length > maxLength) fail(member, "longer than $maxLength characters")
                v.value
            }
            else -> fail(member, "must be a string")
        }
    }

    fun oneOf(member: String, allowed: Collection<String>): String {
        val v = string(member, 64)
        if (v !in allowed) fail(member, "must be one of ${allowed.joinToString(", ")}")
        return v
    }

    fun long(member: String): Long = optLong(member) ?: fail(member, "required")

    fun optLong(member: String): Long? {
        val v = obj[member] ?: return null
        return when (v) {
            JsonNull -> null
            is JsonNumber -> v.longOrNull() ?: fail(member, "must be a whole number")
            else -> fail(member, "must be a number")
        }
    }

    fun timestamp(member: String): Timestamp {
        val text = string(member, 64)
        return Timestamp.parseOrNull(text) ?: fail(member, "must be an RFC 3339 time with an offset")
    }

    fun obj(member: String): Fields = optObj(member) ?: fail(member, "required")

    fun optObj(member: String): Fields? {
        val v = obj[member] ?: return null
        return when (v) {
            JsonNull -> null
            is JsonObject -> Fields(v, name(member))
            else -> fail(member, "must be an object")
        }
    }

    // array gives each element of an array of objects with its own path.
    fun objects(member: String): List<Fields> {
        val v = obj[member] ?: fail(member, "required")
        if (v !is JsonArray) fail(member, "must be an array")
        return v.items.mapIndexed { i, item ->
            if (item !is JsonObject) throw ProtocolException(name("$member.$i"), "must be an object")
            Fields(item, name("$member.$i"))
        }
    }

    companion object {
        // of starts reading a whole message.
        fun of(value: JsonValue): Fields {
            if (value !is JsonObject) throw ProtocolException("", "must be a JSON object")
            return Fields(value, "")
        }
    }
}

// JsonBuilder writes one message object in member order; null values are
// left out.
class JsonBuilder {
    private val members = LinkedHashMap<String, JsonValue>()

    fun put(name: String, value: String?): JsonBuilder {
        if (value != null) members[name] = JsonString(value)
        return this
    }

    fun put(name: String, value: Long?): JsonBuilder {
        if (value != null) members[name] = JsonNumber.of(value)
        return this
    }

    fun put(name: String, value: JsonValue?): JsonBuilder {
        if (value != null) members[name] = value
        return this
    }

    fun build(): JsonObject = JsonObject(members)
}

fun jsonObject(fill: JsonBuilder.() -> Unit): JsonObject = JsonBuilder().apply(fill).build()
