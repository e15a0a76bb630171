package server

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// Schema is the part of JSON Schema (the OpenAPI 3.1 dialect) the API's
// document uses. Properties keep their declaration order in order, for
// the documentation page; JSON sorts them, which validators don't mind.
type Schema struct {
	Ref                  string             `json:"$ref,omitempty"`
	Type                 any                `json:"type,omitempty"` // "string", or ["integer", "null"]
	Format               string             `json:"format,omitempty"`
	Description          string             `json:"description,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AdditionalProperties any                `json:"additionalProperties,omitempty"` // *Schema, or false: no other properties
	OneOf                []*Schema          `json:"oneOf,omitempty"`
	Minimum              *float64           `json:"minimum,omitempty"`
	Maximum              *float64           `json:"maximum,omitempty"`
	Examples             []any              `json:"examples,omitempty"`

	order []string
}

// Schema constructors for the hand-written parts of the document.
func str(desc string) *Schema       { return &Schema{Type: "string", Description: desc} }
func integer(desc string) *Schema   { return &Schema{Type: "integer", Description: desc} }
func boolean(desc string) *Schema   { return &Schema{Type: "boolean", Description: desc} }
func arrayOf(items *Schema) *Schema { return &Schema{Type: "array", Items: items} }
func ref(name string) *Schema       { return &Schema{Ref: "#/components/schemas/" + name} }

func enum(desc string, values ...string) *Schema {
	s := str(desc)
	for _, v := range values {
		s.Enum = append(s.Enum, v)
	}
	return s
}

// object builds an object schema from name/schema pairs in order; a name
// ending in "?" is optional, every other one required.
func object(desc string, fields ...any) *Schema {
	s := &Schema{Type: "object", Description: desc, Properties: map[string]*Schema{}, AdditionalProperties: false}
	for i := 0; i+1 < len(fields); i += 2 {
		name := fields[i].(string)
		opt := strings.HasSuffix(name, "?")
		name = strings.TrimSuffix(name, "?")
		s.Properties[name] = fields[i+1].(*Schema)
		s.order = append(s.order, name)
		if !opt {
			s.Required = append(s.Required, name)
		}
	}
	return s
}

// nullable lets s also be null: a type list for plain types, oneOf for
// a reference.
func nullable(s *Schema) *Schema {
	if s.Ref != "" || s.OneOf != nil {
		return &Schema{OneOf: []*Schema{s, {Type: "null"}}, Description: s.Description}
	}
	c := *s
	switch t := s.Type.(type) {
	case string:
		c.Type = []string{t, "null"}
	case []string:
		c.Type = append(append([]string{}, t...), "null")
	}
	return &c
}

// schemas builds component schemas from Go types by reflection, so the
// document follows the structs the handlers encode: a field added to
// company.Company is in the document without anyone remembering it.
type schemas struct {
	components map[string]*Schema
	names      map[reflect.Type]string
	custom     map[reflect.Type]*Schema
}

func newSchemas() *schemas {
	return &schemas{components: map[string]*Schema{}, names: map[reflect.Type]string{}, custom: map[reflect.Type]*Schema{
		reflect.TypeFor[time.Time]():       {Type: "string", Format: "date-time", Description: "RFC 3339 со смещением"},
		reflect.TypeFor[json.RawMessage](): {},
		reflect.TypeFor[map[string]any]():  {Type: "object"},
	}}
}

// define registers a component under name for the type of v (a zero
// value) and returns a reference to it.
func (sc *schemas) define(name string, v any) *Schema {
	t := reflect.TypeOf(v)
	sc.names[t] = name
	if _, ok := sc.components[name]; !ok {
		sc.components[name] = nil // a recursive type refers to itself
		sc.components[name] = sc.structSchema(t)
	}
	return ref(name)
}

// set registers a hand-written component (a type with its own
// MarshalJSON, or an answer built from a map).
func (sc *schemas) set(name string, s *Schema, like ...any) *Schema {
	sc.components[name] = s
	for _, v := range like {
		sc.names[reflect.TypeOf(v)] = name
	}
	return ref(name)
}

// of is the schema of v's type.
func (sc *schemas) of(v any) *Schema { return sc.typeSchema(reflect.TypeOf(v)) }

func (sc *schemas) typeSchema(t reflect.Type) *Schema {
	if s, ok := sc.custom[t]; ok {
		c := *s
		return &c
	}
	if name, ok := sc.names[t]; ok {
		return ref(name)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(sc.typeSchema(t.Elem()))
	case reflect.String:
		return &Schema{Type: "string"}
	case reflect.Bool:
		return &Schema{Type: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &Schema{Type: "integer"}
	case reflect.Float32, reflect.Float64:
		return &Schema{Type: "number"}
	case reflect.Slice, reflect.Array:
		return arrayOf(sc.typeSchema(t.Elem()))
	case reflect.Map:
		return &Schema{Type: "object", AdditionalProperties: sc.typeSchema(t.Elem())}
	case reflect.Struct:
		return sc.structSchema(t)
	}
	return &Schema{}
}

// structSchema is an object with a property per encoded field: optional
// when tagged omitempty, required otherwise (encoding/json always writes it).
func (sc *schemas) structSchema(t reflect.Type) *Schema {
	s := &Schema{Type: "object", Properties: map[string]*Schema{}, AdditionalProperties: false}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			inner := sc.typeSchema(f.Type)
			if c, ok := sc.components[strings.TrimPrefix(inner.Ref, "#/components/schemas/")]; ok && inner.Ref != "" {
				inner = c
			}
			for _, p := range inner.order {
				s.Properties[p] = inner.Properties[p]
				s.order = append(s.order, p)
			}
			s.Required = append(s.Required, inner.Required...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		s.Properties[name] = sc.typeSchema(f.Type)
		s.order = append(s.order, name)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			s.Required = append(s.Required, name)
		}
	}
	return s
}

// annotate adds Russian descriptions to a component's properties.
func (sc *schemas) annotate(name string, descs map[string]string) {
	s := sc.components[name]
	for p, d := range descs {
		if ps, ok := s.Properties[p]; ok {
			ps.Description = d
		}
	}
}

// restrict sets the enum of a component's property.
func (sc *schemas) restrict(name, prop string, values ...string) {
	p := sc.components[name].Properties[prop]
	for _, v := range values {
		p.Enum = append(p.Enum, v)
	}
}

// valuesSchema is the schema of a map's values, nil for other objects.
func (s *Schema) valuesSchema() *Schema {
	v, _ := s.AdditionalProperties.(*Schema)
	return v
}
