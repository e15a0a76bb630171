package ru.crmprofi.phone.protocol

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class PairingLinkTest {
    private val doc = Vectors.load("pairing_links.json")

    private fun insecure(case: JsonObject) = (case["allow_insecure"] as? JsonBool)?.value ?: false

    @Test
    fun validLinksFromTheVectors() {
        for (case in Vectors.list(doc, "valid")) {
            val name = Vectors.str(case, "name")
            val link = try {
                PairingLink.parse(Vectors.str(case, "url"), insecure(case))
            } catch (e: PairingLinkException) {
                throw AssertionError("$name: refused with ${e.code}")
            }
            assertEquals(name, Vectors.str(case, "base_url"), link.baseUrl)
            assertEquals(name, Vectors.str(case, "pairing_id"), link.pairingId)
            assertEquals(name, Vectors.str(case, "secret"), link.secret)
            // What the app rebuilds reads back the same.
            assertEquals(name, link, PairingLink.parse(link.toUrl(), insecure(case)))
        }
    }

    @Test
    fun invalidLinksFromTheVectors() {
        for (case in Vectors.list(doc, "invalid")) {
            val name = Vectors.str(case, "name")
            try {
                PairingLink.parse(Vectors.str(case, "url"), insecure(case))
                fail("$name: accepted")
            } catch (e: PairingLinkException) {
                assertEquals(name, Vectors.str(case, "error"), e.code)
                assertTrue(name, e.messageRu.isNotBlank())
            }
        }
    }

    @Test
    fun hostAndSecurity() {
        val l = PairingLink.parse(Vectors.str(Vectors.list(doc, "valid")[1], "url"))
        assertEquals("example.ru", l.host)
        assertTrue(l.isSecure)
        val dev = PairingLink.parse(Vectors.str(Vectors.list(doc, "valid")[5], "url"), allowInsecure = true)
        assertFalse(dev.isSecure)
        assertEquals("10.0.2.2", dev.host)
    }
}
