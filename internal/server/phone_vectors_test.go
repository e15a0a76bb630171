package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/phone"
)

// The Android app keeps the JSON of the protocol as shared test vectors
// (android/protocol/src/test/resources/vectors): what it sends must be
// accepted here, what this server sends must have the shape of a valid
// vector, and what the app calls invalid must be refused.

var phoneVectorsDir = filepath.Join("..", "..", "android", "protocol", "src", "test", "resources", "vectors")

type vectorFile struct {
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

func readVectors(t *testing.T, name string) vectorFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(phoneVectorsDir, name)) //nolint:gosec // the repository's own test vectors
	if os.IsNotExist(err) {
		t.Skip("no shared vectors (android/) in this tree")
	}
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// jsonShape describes a JSON value's structure: object keys and the kinds
// of their values, recursively (arrays by their first item).
func jsonShape(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + jsonShape(x[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		if len(x) == 0 {
			return "[]"
		}
		return "[" + jsonShape(x[0]) + "]"
	case string:
		return "s"
	case float64, json.Number:
		return "n"
	case bool:
		return "b"
	}
	return "null"
}

// conforms checks that body has the shape of one of the file's valid vectors.
func conforms(t *testing.T, file string, body []byte) {
	t.Helper()
	var got any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%s: not JSON: %s", file, body)
	}
	v := readVectors(t, file)
	var shapes []string
	for _, c := range v.Valid {
		var want any
		_ = json.Unmarshal(c.JSON, &want)
		shapes = append(shapes, jsonShape(want))
	}
	if !slices.Contains(shapes, jsonShape(got)) {
		t.Errorf("%s: %s\nhas the shape %s, none of the valid vectors':\n%s", file, body, jsonShape(got), strings.Join(shapes, "\n"))
	}
}

// raw sends a device request and returns the answer as it is.
func (d *devicePhone) raw(method, path, body string) *httptest.ResponseRecorder {
	d.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if d.id != "" {
		req.Header.Set("Authorization", "Device "+d.id+"."+d.token)
	}
	rec := httptest.NewRecorder()
	d.handler.ServeHTTP(rec, req)
	return rec
}

func TestPhonePayloadsMatchTheAppVectors(t *testing.T) {
	readVectors(t, "command.json") // skips without the vectors
	eachEnv(t, func(t *testing.T, e *testEnv) {
		alisa := e.cast.Alisa

		// Every valid pair request of the app is accepted (with a real
		// pairing's id and secret); the answer has the vectors' shape.
		for _, c := range readVectors(t, "pair_request.json").Valid {
			var p newPairingJSON
			e.api(&alisa, "POST", "/api/phone/pairings/", nil, &p)
			id, secret, _ := phone.ParseLink(p.QRPayload)
			var body map[string]any
			_ = json.Unmarshal(c.JSON, &body)
			body["pairing_id"], body["secret"] = id, secret
			raw, _ := json.Marshal(body)
			d := &devicePhone{t: t, handler: e.srv}
			rec := d.raw("POST", "/api/phone/v1/pair", string(raw))
			if rec.Code != http.StatusCreated {
				t.Errorf("pair request %q: %d %s", c.Name, rec.Code, rec.Body.String())
				continue
			}
			conforms(t, "pair_response.json", rec.Body.Bytes())
		}
		// Refusals have the device error's shape.
		d := &devicePhone{t: t, handler: e.srv}
		rec := d.raw("POST", "/api/phone/v1/pair", `{"v": 1, "pairing_id": "999", "secret": "x", "device": {"name": "x"}}`)
		conforms(t, "device_error.json", rec.Body.Bytes())

		d = e.pairPhone(alisa)
		conforms(t, "device_status.json", d.raw("GET", "/api/phone/v1/device", "").Body.Bytes())
		conforms(t, "commands.json", d.raw("GET", "/api/phone/v1/commands?wait=0", "").Body.Bytes())

		for _, c := range readVectors(t, "push_token.json").Valid {
			if rec := d.raw("PUT", "/api/phone/v1/device/push", string(c.JSON)); rec.Code != http.StatusOK {
				t.Errorf("push token %q: %d %s", c.Name, rec.Code, rec.Body.String())
			}
		}
		for _, c := range readVectors(t, "push_token.json").Invalid {
			if rec := d.raw("PUT", "/api/phone/v1/device/push", string(c.JSON)); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"`+c.Field+`"`) {
				t.Errorf("invalid push token %q: %d %s", c.Name, rec.Code, rec.Body.String())
			}
		}

		// A command with a contact and its company, as the app reads it.
		co := e.seedCompany("ООО «Ромашка»", alisa.Scope.BranchID, alisa.ID)
		who := e.seedContact(alisa, co, "Сидоров")
		var created callRequestJSON
		if code := e.api(&alisa, "POST", "/api/call-requests/", map[string]any{"phone": "8 495 123-45-67", "contact": who.ID}, &created); code != http.StatusCreated {
			t.Fatalf("call request: %d", code)
		}
		rec = d.raw("GET", "/api/phone/v1/commands?wait=0", "")
		conforms(t, "commands.json", rec.Body.Bytes())
		path := "/api/phone/v1/commands/" + strconv.FormatInt(created.ID, 10)
		conforms(t, "command.json", d.raw("GET", path, "").Body.Bytes())

		for _, c := range readVectors(t, "command_event.json").Valid {
			rec := d.raw("POST", path+"/events", string(c.JSON))
			if rec.Code != http.StatusOK {
				t.Errorf("event %q: %d %s", c.Name, rec.Code, rec.Body.String())
				continue
			}
			conforms(t, "command_event_answer.json", rec.Body.Bytes())
		}
		for _, c := range readVectors(t, "command_event.json").Invalid {
			rec := d.raw("POST", path+"/events", string(c.JSON))
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), fmt.Sprintf("%q", c.Field)) {
				t.Errorf("invalid event %q: %d %s", c.Name, rec.Code, rec.Body.String())
			}
		}
		d.token = "wrong"
		conforms(t, "device_error.json", d.raw("GET", "/api/phone/v1/device", "").Body.Bytes())
	})
}
