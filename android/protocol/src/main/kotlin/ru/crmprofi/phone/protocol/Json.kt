package ru.crmprofi.phone.protocol

import java.math.BigDecimal

// A small JSON model, reader and writer (RFC 8259). The module has no
// libraries: it is compiled by Debian's kotlinc in CI as well as by Gradle.
// Objects keep their member order; numbers keep their literal text, so
// nothing is rounded on the way through.

sealed class JsonValue {
    override fun toString(): String = Json.write(this)
}

class JsonObject(members: Map<String, JsonValue>) : JsonValue() {
    val members: Map<String, JsonValue> = LinkedHashMap(members)

    operator fun get(name: String): JsonValue? = members[name]

    override fun equals(other: Any?): Boolean = other is JsonObject && other.members == members
    override fun hashCode(): Int = members.hashCode()
}

class JsonArray(items: List<JsonValue>) : JsonValue() {
    val items: List<JsonValue> = ArrayList(items)

    override fun equals(other: Any?): Boolean = other is JsonArray && other.items == items
    override fun hashCode(): Int = items.hashCode()
}

class JsonString(val value: String) : JsonValue() {
    override fun equals(other: Any?): Boolean = other is JsonString && other.value == value
    override fun hashCode(): Int = value.hashCode()
}

// JsonNumber holds a number's literal; two numbers are equal when their
// values are (1.0 equals 1), as JSON makes no difference between them.
class JsonNumber(val text: String) : JsonValue() {
    private val decimal: BigDecimal = BigDecimal(text)

    // longOrNull is the number as a Long when it is a whole number in range.
    fun longOrNull(): Long? = try {
        decimal.longValueExact()
    } catch (e: ArithmeticException) {
        null
    }

    override fun equals(other: Any?): Boolean = other is JsonNumber && other.decimal.compareTo(decimal) == 0
    override fun hashCode(): Int = decimal.stripTrailingZeros().hashCode()

    companion object {
        fun of(n: Long): JsonNumber = JsonNumber(n.toString())
    }
}

class JsonBool private constructor(val value: Boolean) : JsonValue() {
    companion object {
        val TRUE = JsonBool(true)
        val FALSE = JsonBool(false)
        fun of(b: Boolean): JsonBool = if (b) TRUE else FALSE
    }
}

object JsonNull : JsonValue()

// JsonSyntaxException: the text is not JSON. offset is where reading stopped.
class JsonSyntaxException(message: String, val offset: Int) : Exception("$message at offset $offset")

object Json {
    const val MAX_DEPTH = 64

    fun parse(text: String): JsonValue = Reader(text).readDocument()

    fun write(value: JsonValue): String {
        val out = StringBuilder()
        writeTo(out, value)
        return out.toString()
    }

    private fun writeTo(out: StringBuilder, value: JsonValue) {
        when (value) {
            is JsonObject -> {
                out.append('{')
                var first = true
                for ((k, v) in value.members) {
                    if (!first) out.append(',')
                    first = false
                    writeString(out, k)
                    out.append(':')
                    writeTo(out, v)
                }
                out.append('}')
            }
            is JsonArray -> {
                out.append('[')
                for ((i, v) in value.items.withIndex()) {
                    if (i > 0) out.append(',')
                    writeTo(out, v)
                }
                out.append(']')
            }
            is JsonString -> writeString(out, value.value)
            is JsonNumber -> out.append(value.text)
            is JsonBool -> out.append(if (value.value) "true" else "false")
            JsonNull -> out.append("null")
        }
    }

    private const val HEX = "0123456789abcdef"

    private fun writeString(out: StringBuilder, s: String) {
        out.append('"')
        for (c in s) {
            when (c) {
                '"' -> out.append("\\\"")
                '\\' -> out.append("\\\\")
                '\n' -> out.append("\\n")
                '\r' -> out.append("\\r")
                '\t' -> out.append("\\t")
                '\b' -> out.append("\\b")
                '\u000C' -> out.append("\\f")
                else -> if (c < ' ' || c == '\u2028' || c == '\u2029') {
                    val code = c - '\u0000'
                    out.append("\\u")
                    for (shift in intArrayOf(12, 8, 4, 0)) out.append(HEX[(code shr shift) and 0xF])
                } else {
                    out.append(c)
                }
            }
        }
        out.append('"')
    }

    private class Reader(private val s: String) {
        private var pos = 0

        fun readDocument(): JsonValue {
            skipSpace()
            val v = readValue(0)
            skipSpace()
            if (pos != s.length) fail("unexpected text after the value")
            return v
        }

        private fun fail(message: String): Nothing = throw JsonSyntaxException(message, pos)

        private fun skipSpace() {
            while (pos < s.length) {
                val c = s[pos]
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') pos++ else return
            }
        }

        private fun readValue(depth: Int): JsonValue {
            if (depth > MAX_DEPTH) fail("nested deeper than $MAX_DEPTH")
            if (pos >= s.length) fail("unexpected end of text")
            return when (val c = s[pos]) {
                '{' -> readObject(depth)
                '[' -> readArray(depth)
                '"' -> JsonString(readString())
                't' -> readWord("true", JsonBool.TRUE)
                'f' -> readWord("false", JsonBool.FALSE)
                'n' -> readWord("null", JsonNull)
                else -> if (c == '-' || c in '0'..'9') readNumber() else fail("unexpected character '$c'")
            }
        }

        private fun readWord(word: String, value: JsonValue): JsonValue {
            if (!s.startsWith(word, pos)) fail("unknown word")
            pos += word.length
            return value
        }

        private fun readObject(depth: Int): JsonValue {
            pos++ // {
            val members = LinkedHashMap<String, JsonValue>()
            skipSpace()
            if (pos < s.length && s[pos] == '}') {
                pos++
                return JsonObject(members)
            }
            while (true) {
                skipSpace()
                if (pos >= s.length || s[pos] != '"') fail("expected a member name")
                val name = readString()
                if (members.containsKey(name)) fail("member \"$name\" repeated")
                skipSpace()
                if (pos >= s.length || s[pos] != ':') fail("expected ':'")
                pos++
                skipSpace()
                members[name] = readValue(depth + 1)
                skipSpace()
                if (pos >= s.length) fail("unexpected end of text")
                when (s[pos]) {
                    ',' -> pos++
                    '}' -> {
                        pos++
                        return JsonObject(members)
                    }
                    else -> fail("expected ',' or '}'")
                }
            }
        }

        private fun readArray(depth: Int): JsonValue {
            pos++ // [
            val items = ArrayList<JsonValue>()
            skipSpace()
            if (pos < s.length && s[pos] == ']') {
                pos++
                return JsonArray(items)
            }
            while (true) {
                skipSpace()
                items.add(readValue(depth + 1))
                skipSpace()
                if (pos >= s.length) fail("unexpected end of text")
                when (s[pos]) {
                    ',' -> pos++
                    ']' -> {
                        pos++
                        return JsonArray(items)
                    }
                    else -> fail("expected ',' or ']'")
                }
            }
        }

        private fun readString(): String {
            pos++ // opening quote
            val out = StringBuilder()
            while (true) {
                if (pos >= s.length) fail("unterminated string")
                val c = s[pos++]
                when {
                    c == '"' -> return out.toString()
                    c == '\\' -> {
                        if (pos >= s.length) fail("unterminated escape")
                        when (s[pos++]) {
                            '"' -> out.append('"')
                            '\\' -> out.append('\\')
                            '/' -> out.append('/')
                            'b' -> out.append('\b')
                            'f' -> out.append('\u000C')
                            'n' -> out.append('\n')
                            'r' -> out.append('\r')
                            't' -> out.append('\t')
                            'u' -> out.append(readHex4())
                            else -> {
                                pos--
                                fail("unknown escape")
                            }
                        }
                    }
                    c < ' ' -> {
                        pos--
                        fail("control character in a string")
                    }
                    else -> out.append(c)
                }
            }
        }

        // Surrogate pairs arrive as two \u escapes; each is appended as one
        // UTF-16 unit, which puts the pair back together.
        private fun readHex4(): Char {
            if (pos + 4 > s.length) fail("short \\u escape")
            var code = 0
            for (i in 0 until 4) {
                val c = s[pos + i]
                val d = when (c) {
                    in '0'..'9' -> c - '0'
                    in 'a'..'f' -> c - 'a' + 10
                    in 'A'..'F' -> c - 'A' + 10
                    else -> fail("bad \\u escape")
                }
                code = code * 16 + d
            }
            pos += 4
            return '\u0000' + code
        }

        private fun readNumber(): JsonValue {
            val start = pos
            if (s[pos] == '-') pos++
            if (pos >= s.length) fail("bad number")
            if (s[pos] == '0') {
                pos++
            } else if (s[pos] in '1'..'9') {
                while (pos < s.length && s[pos] in '0'..'9') pos++
            } else {
                fail("bad number")
            }
            if (pos < s.length && s[pos] == '.') {
                pos++
                val digits = pos
                while (pos < s.length && s[pos] in '0'..'9') pos++
                if (pos == digits) fail("bad number")
            }
            if (pos < s.length && (s[pos] == 'e' || s[pos] == 'E')) {
                pos++
                if (pos < s.length && (s[pos] == '+' || s[pos] == '-')) pos++
                val digits = pos
                while (pos < s.length && s[pos] in '0'..'9') pos++
                if (pos == digits) fail("bad number")
            }
            return JsonNumber(s.substring(start, pos))
        }
    }
}
