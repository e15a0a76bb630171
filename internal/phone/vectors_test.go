package phone_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/crmprofi/crm/internal/phone"
)

// vectorsDir holds the JSON test vectors shared with the Android app.
var vectorsDir = filepath.Join("..", "..", "android", "protocol", "src", "test", "resources", "vectors")

func TestParseLinkAgreesWithTheAppVectors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(vectorsDir, "pairing_links.json")) //nolint:gosec // the repository's own test vectors
	if os.IsNotExist(err) {
		t.Skip("no shared vectors (android/) in this tree")
	}
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Valid []struct {
			Name      string
			URL       string
			PairingID string `json:"pairing_id"`
			Secret    string
		}
		Invalid []struct{ Name, URL, Error string }
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	for _, c := range v.Valid {
		id, secret, ok := phone.ParseLink(c.URL)
		if !ok {
			t.Errorf("%s: %q refused", c.Name, c.URL)
			continue
		}
		if id != c.PairingID || secret != c.Secret {
			t.Errorf("%s: got %q %q", c.Name, id, secret)
		}
	}
	for _, c := range v.Invalid {
		if c.Error == "insecure" {
			continue // the app's release build refuses http; the simulator and the CRM accept it
		}
		if _, _, ok := phone.ParseLink(c.URL); ok {
			t.Errorf("%s: %q accepted (the app says %s)", c.Name, c.URL, c.Error)
		}
	}
}
