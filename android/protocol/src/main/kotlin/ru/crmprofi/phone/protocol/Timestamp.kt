package ru.crmprofi.phone.protocol

import java.time.Instant
import java.time.OffsetDateTime
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter
import java.time.format.DateTimeParseException

// Timestamp is an RFC 3339 time with an offset, as the API writes them
// ("2026-11-27T09:30:00+03:00"). It keeps its text, so a message read and
// written again is byte-for-byte the same, and compares by the instant.
class Timestamp private constructor(val text: String, val epochMillis: Long) : Comparable<Timestamp> {
    override fun compareTo(other: Timestamp): Int = epochMillis.compareTo(other.epochMillis)
    override fun equals(other: Any?): Boolean = other is Timestamp && other.epochMillis == epochMillis
    override fun hashCode(): Int = epochMillis.hashCode()
    override fun toString(): String = text

    fun plusMillis(ms: Long): Timestamp = ofEpochMillis(epochMillis + ms)

    companion object {
        private val RFC3339 = Regex("""\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})""")

        private val WRITE = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX")

        fun parseOrNull(text: String): Timestamp? {
            if (!RFC3339.matches(text)) return null
            return try {
                val t = OffsetDateTime.parse(text.replace('t', 'T').replace('z', 'Z'), DateTimeFormatter.ISO_OFFSET_DATE_TIME)
                Timestamp(text, t.toInstant().toEpochMilli())
            } catch (e: DateTimeParseException) {
                null
            }
        }

        fun parse(text: String): Timestamp =
            parseOrNull(text) ?: throw IllegalArgumentException("not an RFC 3339 time: $text")

        // ofEpochMillis writes the instant in UTC with milliseconds.
        fun ofEpochMillis(ms: Long, offset: ZoneOffset = ZoneOffset.UTC): Timestamp {
            val t = OffsetDateTime.ofInstant(Instant.ofEpochMilli(ms), offset)
            return Timestamp(t.format(WRITE), ms)
        }
    }
}
