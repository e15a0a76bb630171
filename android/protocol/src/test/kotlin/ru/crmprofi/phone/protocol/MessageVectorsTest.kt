package ru.crmprofi.phone.protocol

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

// Every message file: each valid case reads and writes back to its
// canonical form (the case's json when no canonical is given); each invalid
// case is refused naming the field the vector names.
class MessageVectorsTest {
    private val codecs: Map<String, (JsonValue) -> JsonValue> = mapOf(
        "pair_request" to { v: JsonValue -> PairRequest.fromJson(v).toJson() },
        "pair_response" to { v: JsonValue -> PairResponse.fromJson(v).toJson() },
        "device_status" to { v: JsonValue -> DeviceStatus.fromJson(v).toJson() },
        "push_token" to { v: JsonValue -> PushTokenUpdate.toJson(PushTokenUpdate.fromJson(v)) },
        "command" to { v: JsonValue -> Command.fromJson(v).toJson() },
        "command_list" to { v: JsonValue -> CommandList.fromJson(v).toJson() },
        "command_event" to { v: JsonValue -> CommandEvent.fromJson(v).toJson() },
        "command_event_answer" to { v: JsonValue -> CommandEventAnswer.fromJson(v).toJson() },
        "device_error" to { v: JsonValue -> DeviceError.fromJson(v).toJson() },
        "fcm_data" to { v: JsonValue -> fcmDataRoundTrip(v) },
        "fcm_send" to { v: JsonValue -> FcmSend.fromJson(v).toJson() }
    )

    private val files = listOf(
        "pair_request.json", "pair_response.json", "device_status.json", "push_token.json",
        "command.json", "commands.json", "command_event.json", "command_event_answer.json",
        "device_error.json", "fcm_data.json", "fcm_send.json"
    )

    // The phone gets FCM data as a map of strings; a vector with a value
    // that is not a string cannot reach it, so it is refused here too.
    private fun fcmDataRoundTrip(v: JsonValue): JsonValue {
        val f = Fields.of(v)
        val map = (v as JsonObject).members.mapValues { f.string(it.key) }
        return JsonObject(FcmData.fromMap(map).toMap().mapValues { JsonString(it.value) })
    }

    @Test
    fun everyMessageFileRoundTripsAndRefuses() {
        var checked = 0
        for (file in files) {
            val doc = Vectors.load(file)
            val message = Vectors.str(doc, "message")
            val codec = codecs[message] ?: throw AssertionError("$file: no codec for message $message")
            for (case in Vectors.list(doc, "valid")) {
                val name = "$file: ${Vectors.str(case, "name")}"
                val json = case["json"]!!
                val want = case["canonical"] ?: json
                val got = try {
                    codec(json)
                } catch (e: ProtocolException) {
                    throw AssertionError("$name: refused: ${e.message}")
                }
                assertEquals(name, Json.write(want), Json.write(got))
                // Written text reads back to the same message.
                assertEquals(name, got, codec(Json.parse(Json.write(got))))
                checked++
            }
            for (case in Vectors.list(doc, "invalid")) {
                val name = "$file: ${Vectors.str(case, "name")}"
                Vectors.expectProtocolError(name, Vectors.str(case, "field")) { codec(case["json"]!!) }
                checked++
            }
        }
        assertTrue("checked $checked cases", checked >= 100)
    }

    @Test
    fun pairRequestFieldsAreRead() {
        val doc = Vectors.load("pair_request.json")
        val r = PairRequest.fromJson(Vectors.list(doc, "valid")[0]["json"]!!)
        assertEquals("7f3c9a2e-5b1d-4c8e-9f00-1a2b3c4d5e6f", r.pairingId)
        assertEquals("Телефон Ивана", r.device.name)
        assertEquals(PushProvider.FCM, r.push.provider)
        val none = PairRequest.fromJson(Vectors.list(doc, "valid")[1]["json"]!!)
        assertNull(none.push.token)
    }

    @Test
    fun commandFieldsAreRead() {
        val doc = Vectors.load("command.json")
        val c = Command.fromJson(Vectors.list(doc, "valid")[0]["json"]!!)
        assertTrue(c.isCallRequest)
        assertEquals("+74951234567", c.phone!!.e164)
        assertEquals("ООО «Ромашка»", c.contact!!.company)
        assertEquals(120_000L, c.expiresAt.epochMillis - c.createdAt.epochMillis)
        val unknown = Command.fromJson(Vectors.list(doc, "valid")[5]["json"]!!)
        assertEquals("sms_request", unknown.type)
        assertNull(unknown.phone)
    }

    @Test
    fun fcmSendCarriesNoPersonalData() {
        val doc = Vectors.load("fcm_send.json")
        val m = FcmSend.fromJson(Vectors.list(doc, "valid")[0]["json"]!!)
        assertEquals(setOf("v", "type", "id", "exp"), m.data.toMap().keys)
        assertEquals(90L, m.ttlSeconds)
    }
}
