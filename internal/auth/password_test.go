package auth

import (
	"fmt"
	"strings"
	"testing"
)

// TestPasswordHashesFollowOWASP checks the argon2id cost: at least one of
// OWASP's recommended sets (m=19 MiB t=2, m=12 MiB t=3, m=9 MiB t=4,
// m=7 MiB t=5, m=46 MiB t=1), and no more memory than 19 MiB a hash, so
// sign-ins and the first administrator do not swell the server's memory.
func TestPasswordHashesFollowOWASP(t *testing.T) {
	h, err := HashPassword("пароль-для-проверки")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(h, "$")
	var m, tm uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &tm, &p); err != nil {
		t.Fatalf("hash %q: %v", h, err)
	}
	owasp := map[uint32]uint32{47104: 1, 19456: 2, 12288: 3, 9216: 4, 7168: 5} // KiB → passes
	ok := false
	for mem, passes := range owasp {
		if m >= mem && tm >= passes {
			ok = true
		}
	}
	if !ok || p < 1 {
		t.Errorf("argon2id m=%d KiB t=%d p=%d is weaker than OWASP recommends", m, tm, p)
	}
	if m > 19*1024 {
		t.Errorf("argon2id takes %d KiB a hash, want at most 19 MiB", m)
	}
	if !CheckPassword(h, "пароль-для-проверки") || CheckPassword(h, "другой") {
		t.Error("the hash does not check")
	}
}
