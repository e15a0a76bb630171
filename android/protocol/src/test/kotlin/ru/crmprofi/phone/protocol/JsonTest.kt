package ru.crmprofi.phone.protocol

import org.junit.Assert.assertEquals
import org.junit.Assert.fail
import org.junit.Test

class JsonTest {
    @Test
    fun readsAndWrites() {
        val text = """{"a":[1,-2.5e3,true,false,null],"b":"Ромашка «ООО» \"q\" \\ / \n\t","c":{}}"""
        val v = Json.parse(text)
        assertEquals(text, Json.write(v))
        assertEquals(v, Json.parse(Json.write(v)))
    }

    @Test
    fun escapes() {
        assertEquals(JsonString("é😀/"), Json.parse("\"\\u00e9\\ud83d\\ude00\\/\""))
        assertEquals("\"\\u0001\\u2028\"", Json.write(JsonString("\u0001\u2028")))
        assertEquals(JsonNumber("1"), Json.parse(" 1.0 "))
    }

    @Test
    fun numbersKeepTheirText() {
        val big = Json.parse("12345678901234567890123") as JsonNumber
        assertEquals("12345678901234567890123", big.text)
        assertEquals(null, big.longOrNull())
        assertEquals(42L, (Json.parse("42") as JsonNumber).longOrNull())
    }

    @Test
    fun refusesWhatIsNotJson() {
        val bad = listOf(
            "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "1.", ".5", "-", "+1", "1e",
            "\"abc", "\"a\u0001\"", "\"\\x\"", "\"\\u12\"", "tru", "nul", "[1 2]", "{\"a\":1,\"a\":2}", "1 2", "'a'", "NaN"
        )
        for (t in bad) {
            try {
                Json.parse(t)
                fail("accepted ${Json.write(JsonString(t))}")
            } catch (e: JsonSyntaxException) {
            }
        }
    }

    @Test
    fun depthIsBounded() {
        Json.parse("[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH))
        try {
            Json.parse("[".repeat(10_000))
            fail("accepted 10,000 nested arrays")
        } catch (e: JsonSyntaxException) {
        }
    }
}
