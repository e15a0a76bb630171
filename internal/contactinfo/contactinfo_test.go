package contactinfo_test

import (
	"encoding/json"
	"testing"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/contactinfo"
)

func TestDisplay(t *testing.T) {
	for _, c := range []struct {
		name string
		in   contactinfo.Phone
		want string
	}{
		{"a Russian number is written one way however it was typed", contactinfo.Phone{Value: "8 495 1234567"}, "+7 (495) 123-45-67"},
		{"the stored key is used when there is one", contactinfo.Phone{Value: "8(495)123-45-67", E164: "+74951234567"}, "+7 (495) 123-45-67"},
		{"an extension follows the number", contactinfo.Phone{Value: "84951234567 доб. 12"}, "+7 (495) 123-45-67 доб. 12"},
		{"a foreign number keeps its country code", contactinfo.Phone{Value: "+49 30 1234567"}, "+49 301234567"},
		{"a value that is no number is shown as typed", contactinfo.Phone{Value: "спросить у секретаря"}, "спросить у секретаря"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.in.Display(); got != c.want {
				t.Errorf("Display() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestTelURI(t *testing.T) {
	p := contactinfo.Phone{Value: "8 (495) 123-45-67 доб. 12"}
	if got, want := p.TelURI(), "tel:+74951234567,,12"; got != want {
		t.Errorf("TelURI() = %q, want %q", got, want)
	}
}

func TestJSON(t *testing.T) {
	t.Run("a bare string is a work phone", func(t *testing.T) {
		var ps []contactinfo.Phone
		if err := json.Unmarshal([]byte(`["+7 495 123-45-67", {"value": "8 916 000 00 01", "kind": "mobile", "comment": "Анна"}]`), &ps); err != nil {
			t.Fatal(err)
		}
		want := []contactinfo.Phone{{Value: "+7 495 123-45-67", Kind: "work"}, {Value: "8 916 000 00 01", Kind: "mobile", Comment: "Анна"}}
		if len(ps) != 2 || ps[0] != want[0] || ps[1] != want[1] {
			t.Errorf("got %+v, want %+v", ps, want)
		}
	})
	t.Run("a bare string is a work e-mail", func(t *testing.T) {
		var es []contactinfo.Email
		if err := json.Unmarshal([]byte(`["a@b.ru", {"value": "c@d.ru", "kind": "personal"}]`), &es); err != nil {
			t.Fatal(err)
		}
		if es[0].Kind != "work" || es[1].Kind != "personal" || es[1].Value != "c@d.ru" {
			t.Errorf("got %+v", es)
		}
	})
	t.Run("a phone is written with the typed value and its key, whatever key the client sent", func(t *testing.T) {
		var sent contactinfo.Phone
		if err := json.Unmarshal([]byte(`{"value": " 8 (495) 123-45-67 ", "e164": "+70000000000"}`), &sent); err != nil {
			t.Fatal(err)
		}
		ps := contactinfo.NormalizePhones([]contactinfo.Phone{sent}, apperr.Invalid{})
		b, err := json.Marshal(ps[0])
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), `{"value":"8 (495) 123-45-67","kind":"work","comment":"","e164":"+74951234567"}`; got != want {
			t.Errorf("JSON = %s, want %s", got, want)
		}
	})
	t.Run("an e-mail is written without its search key", func(t *testing.T) {
		es := contactinfo.NormalizeEmails([]contactinfo.Email{{Value: "Anna@Romashka.RU"}}, apperr.Invalid{})
		b, err := json.Marshal(es[0])
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), `{"value":"Anna@Romashka.RU","kind":"work","comment":""}`; got != want {
			t.Errorf("JSON = %s, want %s", got, want)
		}
	})
}

func TestNormalize(t *testing.T) {
	inv := apperr.Invalid{}
	ps := contactinfo.NormalizePhones([]contactinfo.Phone{{Value: "8 495 123 45 67"}, {Value: "  "}, {Value: "позвонить", Kind: "work"}}, inv)
	if len(ps) != 2 || ps[0].E164 != "+74951234567" || ps[0].Kind != "work" {
		t.Errorf("phones = %+v: blank rows dropped, keys filled, kind defaulted", ps)
	}
	if got, want := inv["phones"], "Телефон 3: неверный номер"; got != want {
		t.Errorf("phones error = %q, want %q", got, want)
	}
	contactinfo.NormalizeEmails([]contactinfo.Email{{Value: "a@b.ru", Kind: "домашний"}}, inv)
	if got, want := inv["emails"], "E-mail 1: неизвестный тип «домашний»"; got != want {
		t.Errorf("emails error = %q, want %q", got, want)
	}
}
