package fcmfake_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/crmprofi/crm/internal/phone/fcmfake"
)

// TestValidateSharedVectors: the fake accepts the FCM bodies the Android
// app's vectors call valid and refuses the invalid ones at their field.
func TestValidateSharedVectors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "android", "protocol", "src", "test", "resources", "vectors", "fcm_send.json"))
	if err != nil {
		t.Skip("no shared vectors (android/) in this tree")
	}
	var file struct {
		Valid []struct {
			Name string          `json:"name"`
			JSON json.RawMessage `json:"json"`
		} `json:"valid"`
		Invalid []struct {
			Name  string          `json:"name"`
			JSON  json.RawMessage `json:"json"`
			Field string          `json:"field"`
		} `json:"invalid"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	for _, v := range file.Valid {
		if _, field, err := fcmfake.Validate(v.JSON); err != nil {
			t.Errorf("%s: refused at %s: %v", v.Name, field, err)
		}
	}
	for _, v := range file.Invalid {
		if _, field, err := fcmfake.Validate(v.JSON); err == nil || field != v.Field {
			t.Errorf("%s: field %q, want %q (%v)", v.Name, field, v.Field, err)
		}
	}
}
