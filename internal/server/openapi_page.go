package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/crmprofi/crm/web/view"
)

// yaml is the document in YAML: the JSON re-emitted in block style, its
// strings kept as JSON strings (valid YAML double-quoted scalars).
func (d *openAPIDocument) yaml() []byte {
	dec := json.NewDecoder(bytes.NewReader(d.json))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		panic("openapi: " + err.Error()) // we encoded it ourselves
	}
	var b bytes.Buffer
	writeYAML(&b, v, 0)
	return b.Bytes()
}

func writeYAML(b *bytes.Buffer, v any, indent int) {
	pad := strings.Repeat("  ", indent)
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			key := k
			if !plainKey.MatchString(k) {
				key = yamlScalar(k)
			}
			b.WriteString(pad + key + ":")
			writeYAMLValue(b, t[k], indent+1)
		}
	case []any:
		for _, e := range t {
			b.WriteString(pad + "-")
			writeYAMLValue(b, e, indent+1)
		}
	}
}

// writeYAMLValue writes what follows "key:" or "-": a scalar or an empty
// collection on the same line, a collection below.
func writeYAMLValue(b *bytes.Buffer, v any, indent int) {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			b.WriteString(" {}\n")
			return
		}
		b.WriteString("\n")
		writeYAML(b, t, indent)
	case []any:
		if len(t) == 0 {
			b.WriteString(" []\n")
			return
		}
		b.WriteString("\n")
		writeYAML(b, t, indent)
	default:
		b.WriteString(" " + yamlScalar(t) + "\n")
	}
}

// plainKey is a key YAML reads as the same string without quotes.
var plainKey = regexp.MustCompile(`^[A-Za-z_/$][A-Za-z0-9_./{}$-]*$`)

func yamlScalar(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(t)
	case json.Number:
		return t.String()
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}

// docsView is the document as the page shows it: sections, operations
// with their parameters, bodies and answers, and the schemas.
func (d *openAPIDocument) docsView() view.APIDocs {
	page := view.APIDocs{Intro: apiIntro, SchemaURL: "/api/schema/"}
	for _, t := range apiTags {
		tag := view.APITag{ID: "tag-" + strconv.Itoa(len(page.Tags)+1), Name: t.name, Desc: t.desc}
		for _, op := range d.ops {
			if op.tag != t.name {
				continue
			}
			o := view.APIOperation{ID: operationID(op), Method: op.method, Path: op.path, Summary: op.summary, Desc: op.desc}
			switch {
			case op.device:
				o.Auth = "Device (приложение телефона)"
			case op.public:
				o.Auth = "без авторизации"
			default:
				o.Auth = "Bearer JWT или сеанс браузера"
			}
			for _, m := range pathParam.FindAllStringSubmatch(op.path, -1) {
				o.Params = append(o.Params, view.APIField{Name: m[1], In: "путь", Type: "integer", Required: true, Desc: "Идентификатор."})
			}
			for _, p := range op.query {
				text, target := d.schemas.typeText(p.schema)
				o.Params = append(o.Params, view.APIField{Name: p.name, In: "запрос", Type: text, Ref: target, Desc: p.desc})
			}
			body, media := op.body, "application/json"
			if op.upload != nil {
				body, media = op.upload, "multipart/form-data"
			}
			if body != nil {
				o.BodyType = media
				o.BodyDesc = body.Description
				o.Body = d.schemas.fields(body)
				o.Example = exampleJSON(d.schemas, body)
			}
			o.Responses = append(o.Responses, d.schemas.response(op.ok, op.out, op.outType))
			for _, code := range errorStatuses(op) {
				r := view.APIResponse{Status: code, Desc: errorDescription(op, code)}
				switch code {
				case http.StatusMovedPermanently:
				case http.StatusServiceUnavailable:
					_, _, typ := unavailable(op)
					r.Type, r.Ref = typ, "schema-"+strings.SplitN(typ, " ", 2)[0]
				case http.StatusBadRequest:
					r.Type, r.Ref = "ValidationError", "schema-ValidationError"
				case http.StatusConflict:
					r.Type, r.Ref = "Error | DuplicateConflict", "schema-Error"
				case http.StatusRequestEntityTooLarge:
					r.Type, r.Ref = "TooLarge", "schema-TooLarge"
				default:
					r.Type, r.Ref = "Error", "schema-Error"
				}
				o.Responses = append(o.Responses, r)
			}
			tag.Ops = append(tag.Ops, o)
		}
		page.Tags = append(page.Tags, tag)
	}
	names := make([]string, 0, len(d.schemas.components))
	for n := range d.schemas.components {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		s := d.schemas.components[n]
		text, _ := d.schemas.typeText(s)
		page.Schemas = append(page.Schemas, view.APISchema{ID: "schema-" + n, Name: n, Desc: s.Description, Type: text,
			Fields: d.schemas.fields(s), Example: exampleJSON(d.schemas, s)})
	}
	return page
}

func (sc *schemas) response(code int, out *Schema, media string) view.APIResponse {
	r := view.APIResponse{Status: code, Desc: http.StatusText(code)}
	switch {
	case out != nil:
		r.Type, r.Ref = sc.typeText(out)
		r.Fields = sc.fields(out)
	case media != "":
		r.Type = media
	case code == http.StatusNoContent:
		r.Desc = "Готово, без тела."
	}
	return r
}

// fields lists an object's properties (nothing for a reference: the
// page links to the schema instead).
func (sc *schemas) fields(s *Schema) []view.APIField {
	if s == nil || s.Ref != "" || len(s.Properties) == 0 {
		return nil
	}
	order := s.order
	if len(order) < len(s.Properties) {
		order = order[:0:0]
		for p := range s.Properties {
			order = append(order, p)
		}
		slices.Sort(order)
	}
	var out []view.APIField
	for _, p := range order {
		ps := s.Properties[p]
		text, target := sc.typeText(ps)
		out = append(out, view.APIField{Name: p, Type: text, Ref: target, Desc: ps.Description,
			Required: slices.Contains(s.Required, p), Enum: enumText(ps)})
	}
	return out
}

func enumText(s *Schema) string {
	var vs []string
	for _, v := range s.Enum {
		raw, _ := json.Marshal(v)
		vs = append(vs, string(raw))
	}
	return strings.Join(vs, ", ")
}

// typeText is a short human form of s ("integer | null", "Company[]")
// and the page anchor of the first schema it names.
func (sc *schemas) typeText(s *Schema) (string, string) {
	if s == nil {
		return "", ""
	}
	if s.Ref != "" {
		name := strings.TrimPrefix(s.Ref, "#/components/schemas/")
		return name, "schema-" + name
	}
	if s.OneOf != nil {
		var parts []string
		target := ""
		for _, o := range s.OneOf {
			t, a := sc.typeText(o)
			parts = append(parts, t)
			if target == "" {
				target = a
			}
		}
		return strings.Join(parts, " | "), target
	}
	var types []string
	switch t := s.Type.(type) {
	case string:
		types = []string{t}
	case []string:
		types = slices.Clone(t)
	}
	for i, t := range types {
		switch {
		case t == "array" && s.Items != nil:
			it, a := sc.typeText(s.Items)
			if strings.Contains(it, " ") {
				it = "(" + it + ")"
			}
			types[i] = it + "[]"
			if len(types) == 1 {
				return types[0], a
			}
		case t == "string" && s.Format != "":
			types[i] = "string (" + s.Format + ")"
		case t == "object" && s.valuesSchema() != nil:
			v, _ := sc.typeText(s.valuesSchema())
			types[i] = "{поле: " + v + "}"
		}
	}
	if len(types) == 0 {
		return "любое", ""
	}
	return strings.Join(types, " | "), ""
}

// exampleJSON is an illustrative value of s, indented.
func exampleJSON(sc *schemas, s *Schema) string {
	raw, err := json.MarshalIndent(example(sc, s, 0), "", "  ")
	if err != nil {
		return ""
	}
	return string(raw)
}

func example(sc *schemas, s *Schema, depth int) any {
	if s == nil || depth > 4 {
		return nil
	}
	if s.Ref != "" {
		return example(sc, sc.components[strings.TrimPrefix(s.Ref, "#/components/schemas/")], depth+1)
	}
	if s.OneOf != nil {
		return example(sc, s.OneOf[len(s.OneOf)-1-boolIndex(len(s.OneOf) > 1 && isNull(s.OneOf[len(s.OneOf)-1]))], depth)
	}
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	t, _ := s.Type.(string)
	if ts, ok := s.Type.([]string); ok && len(ts) > 0 {
		t = ts[0]
	}
	switch t {
	case "object":
		if len(s.Properties) == 0 {
			if vs := s.valuesSchema(); vs != nil {
				return map[string]any{"поле": example(sc, vs, depth+1)}
			}
			return map[string]any{}
		}
		out := map[string]any{}
		for p, ps := range s.Properties {
			out[p] = example(sc, ps, depth+1)
		}
		return out
	case "array":
		return []any{example(sc, s.Items, depth+1)}
	case "integer":
		return 1
	case "number":
		return 0.5
	case "boolean":
		return false
	case "string":
		if s.Format == "date-time" {
			return "2026-11-27T09:30:00+03:00"
		}
		if s.Format == "uri" {
			return "https://crm.example.ru/api/…"
		}
		return "…"
	}
	return nil
}

func isNull(s *Schema) bool { t, _ := s.Type.(string); return t == "null" }

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}
