package ru.crmprofi.phone.protocol

import org.junit.Assert.fail

// Vectors reads the shared test vectors (src/test/resources/vectors, see the
// README there) from the class path.
object Vectors {
    fun load(name: String): JsonObject {
        val url = Vectors::class.java.classLoader.getResource("vectors/$name")
            ?: throw AssertionError("vector file vectors/$name is not on the class path")
        return Json.parse(url.readText(Charsets.UTF_8)) as JsonObject
    }

    fun list(v: JsonObject, member: String): List<JsonObject> =
        (v[member] as JsonArray).items.map { it as JsonObject }

    fun str(v: JsonObject, member: String): String = (v[member] as? JsonString)?.value
        ?: throw AssertionError("vector member $member is not a string in $v")

    fun optStr(v: JsonObject, member: String): String? = (v[member] as? JsonString)?.value

    fun long(v: JsonObject, member: String): Long = (v[member] as JsonNumber).longOrNull()!!

    fun double(v: JsonObject, member: String): Double = (v[member] as JsonNumber).text.toDouble()

    fun bool(v: JsonObject, member: String): Boolean = (v[member] as JsonBool).value

    // expectProtocolError runs block and checks it fails naming field.
    fun expectProtocolError(name: String, field: String, block: () -> Unit) {
        try {
            block()
        } catch (e: ProtocolException) {
            if (e.field != field) fail("$name: error names field '${e.field}' (${e.message}), the vector says '$field'")
            return
        }
        fail("$name: accepted, the vector says it is invalid ($field)")
    }
}
