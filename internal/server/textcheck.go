package server

import (
	"bytes"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/apperr"
)

// Text that no database column can hold is refused at the door with a
// field message, not passed on to fail deep in a store: PostgreSQL
// rejects invalid UTF-8 and the NUL character in text outright (SQLSTATE
// 22021), SQLite would store them and show garbage later.

// badTextMessage is what the user reads beside the field.
const badTextMessage = "Текст содержит недопустимые символы"

// checkFormText reports the first form field whose name or value is not
// valid UTF-8 or holds a NUL.
func checkFormText(v url.Values) error {
	for k, vs := range v {
		field := k
		if !cleanText(k) {
			field = apperr.NonField
		}
		for _, s := range append([]string{k}, vs...) {
			if !cleanText(s) {
				return apperr.Invalid{field: badTextMessage}
			}
		}
	}
	return nil
}

// cleanText reports whether s is valid UTF-8 without NUL.
func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// jsonHasNUL reports whether a JSON text escapes a NUL in a string
// (\u0000). Backslashes occur only inside strings, so a scan that skips
// each escaped character finds every escape and no false one.
func jsonHasNUL(b []byte) bool {
	for {
		i := bytes.IndexByte(b, '\\')
		if i < 0 || i+1 >= len(b) {
			return false
		}
		if b[i+1] == 'u' && i+6 <= len(b) && string(b[i+2:i+6]) == "0000" {
			return true
		}
		b = b[i+2:]
	}
}
