package ru.crmprofi.phone.protocol

import java.net.URI
import java.net.URISyntaxException

// PairingLink is the QR code's content, <base URL>/m/pair#v=1&p=<pairing_id>&s=<secret>.
// baseUrl is the CRM's address, with no trailing slash; the secret is in
// the fragment so it never reaches a server log.
data class PairingLink(val baseUrl: String, val pairingId: String, val secret: String) {
    val isSecure: Boolean get() = baseUrl.startsWith("https://")

    // host is what the app shows the user before pairing ("crm.example.ru").
    val host: String get() = URI(baseUrl).host

    fun toUrl(): String = "$baseUrl$PATH#v=$VERSION&p=$pairingId&s=$secret"

    companion object {
        const val PATH = "/m/pair"
        const val VERSION = "1"

        // parse reads a scanned link; http is accepted only when allowInsecure
        // (debug builds pointed at a developer's machine).
        fun parse(text: String, allowInsecure: Boolean = false): PairingLink {
            val s = text.trim()
            if (s.length == 0 || s.length > 2048) throw PairingLinkException(PairingLinkException.NOT_A_LINK)
            val uri = try {
                URI(s)
            } catch (e: URISyntaxException) {
                throw PairingLinkException(PairingLinkException.NOT_A_LINK)
            }
            val scheme = uri.scheme
            if (scheme != "https" && scheme != "http") throw PairingLinkException(PairingLinkException.NOT_A_LINK)
            if (scheme == "http" && !allowInsecure) throw PairingLinkException(PairingLinkException.INSECURE)
            if (uri.rawUserInfo != null || uri.host.isNullOrEmpty()) throw PairingLinkException(PairingLinkException.NOT_A_LINK)
            val path = uri.rawPath ?: ""
            if (!path.endsWith(PATH) || uri.rawQuery != null) throw PairingLinkException(PairingLinkException.NOT_A_PAIRING_LINK)
            val fragment = uri.rawFragment ?: throw PairingLinkException(PairingLinkException.NOT_A_PAIRING_LINK)

            val params = HashMap<String, String>()
            for (part in fragment.split('&')) {
                val eq = part.indexOf('=')
                if (eq <= 0) throw PairingLinkException(PairingLinkException.NOT_A_PAIRING_LINK)
                val key = part.substring(0, eq)
                if (params.containsKey(key)) throw PairingLinkException(PairingLinkException.NOT_A_PAIRING_LINK)
                params[key] = part.substring(eq + 1)
            }
            val v = params["v"] ?: throw PairingLinkException(PairingLinkException.NOT_A_PAIRING_LINK)
            if (v != VERSION) throw PairingLinkException(PairingLinkException.UNSUPPORTED_VERSION)
            val p = params["p"]
            if (p == null || !Ids.isId(p)) throw PairingLinkException(PairingLinkException.BAD_PAIRING_ID)
            val secret = params["s"]
            if (secret == null || !Ids.isSecret(secret)) throw PairingLinkException(PairingLinkException.BAD_SECRET)

            val base = "$scheme://${uri.rawAuthority}${path.removeSuffix(PATH)}"
            return PairingLink(base, p, secret)
        }
    }
}

// PairingLinkException: the scanned code is not a usable pairing link.
// code is stable (the shared vectors name it); messageRu is for the user.
class PairingLinkException(val code: String) : Exception(code) {
    val messageRu: String
        get() = when (code) {
            INSECURE -> "Адрес CRM в QR-коде без https — такое соединение не защищено."
            UNSUPPORTED_VERSION -> "QR-код создан более новой версией CRM. Обновите приложение."
            BAD_PAIRING_ID, BAD_SECRET -> "QR-код повреждён. Создайте новый на странице «Мой телефон»."
            NOT_A_PAIRING_LINK -> "Это не QR-код привязки телефона. Откройте в CRM страницу «Мой телефон»."
            else -> "Это не QR-код CRM ПРОФИ."
        }

    companion object {
        const val NOT_A_LINK = "not_a_link"
        const val INSECURE = "insecure"
        const val NOT_A_PAIRING_LINK = "not_a_pairing_link"
        const val UNSUPPORTED_VERSION = "unsupported_version"
        const val BAD_PAIRING_ID = "bad_pairing_id"
        const val BAD_SECRET = "bad_secret"
    }
}
