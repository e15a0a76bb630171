package auth

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Password rules, with the messages a user sees beside the field. They
// apply wherever a password is set: an admin creating a user or setting
// their password, a user changing their own, createsuperuser and demo.
const (
	// MinPasswordLength is the shortest password accepted, in characters.
	MinPasswordLength = 10
	// maxPasswordBytes bounds what is hashed.
	maxPasswordBytes = 256
)

// commonPasswordList is a short list of passwords every guesser tries
// first: the world's most common ones, Russian words and keyboard rows
// (in both layouts: «йцукен» is «qwerty» typed in the Russian one), one
// a line, lower case.
//
//go:embed password_common.txt
var commonPasswordList string

var commonPasswords = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for line := range strings.Lines(commonPasswordList) {
		if w := strings.TrimSpace(line); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = true
		}
	}
	return m
})

// ValidatePassword returns a Russian message when password may not be
// set for the user with the given login (empty when the login is not
// known yet), or "" when it may.
func ValidatePassword(password, username string) string {
	lower := strings.ToLower(password)
	login := NormalizeUsername(username)
	switch {
	case strings.TrimSpace(password) == "":
		return "Введите пароль"
	case len(password) > maxPasswordBytes:
		return "Пароль слишком длинный"
	case !utf8.ValidString(password):
		return "Пароль содержит недопустимые символы"
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return "Пароль должен быть не короче 10 символов"
	case oneCharacter(lower):
		return "Пароль не может состоять из одного повторяющегося символа"
	case login != "" && strings.Contains(lower, login):
		return "Пароль не должен совпадать с логином или содержать его"
	case isCommon(lower):
		return "Этот пароль слишком распространён — его подберут первым. Придумайте другой"
	}
	return ""
}

// oneCharacter reports whether s is one character repeated.
func oneCharacter(s string) bool {
	first, _ := utf8.DecodeRuneInString(s)
	for _, r := range s {
		if r != first {
			return false
		}
	}
	return true
}

// isCommon reports whether a lower-cased password is on the list, as it
// is or with the digits and punctuation people add at its ends
// («пароль2024!», «123qwertyuiop»).
func isCommon(lower string) bool {
	list := commonPasswords()
	if list[lower] {
		return true
	}
	core := strings.TrimFunc(lower, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
	return core != "" && list[core]
}
