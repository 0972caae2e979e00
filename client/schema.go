package client

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ColumnSchema describes one column of a shape, as the electric-schema
// header gives it. Optional fields are nil or zero when absent.
type ColumnSchema struct {
	// Name is the column's name (the header's object key).
	Name string `json:"-"`
	// Type is the Postgres type name; for arrays the element type.
	Type string `json:"type"`
	// Dims is the number of array dimensions; 0 for scalars.
	Dims int `json:"dims,omitempty"`
	// PKIndex is the column's 0-based position in the primary key.
	PKIndex *int `json:"pk_index,omitempty"`
	// NotNull is set for NOT NULL columns.
	NotNull   bool   `json:"not_null,omitempty"`
	MaxLength *int   `json:"max_length,omitempty"`
	Length    *int   `json:"length,omitempty"`
	Precision *int   `json:"precision,omitempty"`
	Scale     *int   `json:"scale,omitempty"`
	Fields    string `json:"fields,omitempty"`
	TypeMod   *int   `json:"type_mod,omitempty"`
}

// Schema is a shape's columns in the order the server lists them (the
// table's column order).
type Schema []ColumnSchema

// ParseSchema parses an electric-schema header value, keeping the
// columns' order.
func ParseSchema(s string) (Schema, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: electric-schema is not a JSON object", ErrBadResponse)
	}
	var schema Schema
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: electric-schema: %v", ErrBadResponse, err)
		}
		name, _ := tok.(string)
		var col ColumnSchema
		if err := dec.Decode(&col); err != nil {
			return nil, fmt.Errorf("%w: electric-schema column %q: %v", ErrBadResponse, name, err)
		}
		col.Name = name
		schema = append(schema, col)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, fmt.Errorf("%w: electric-schema is not a JSON object", ErrBadResponse)
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("%w: electric-schema has data after the object", ErrBadResponse)
	}
	return schema, nil
}

// Column returns the named column.
func (s Schema) Column(name string) (ColumnSchema, bool) {
	for _, c := range s {
		if c.Name == name {
			return c, true
		}
	}
	return ColumnSchema{}, false
}

// Names returns the column names in order.
func (s Schema) Names() []string {
	names := make([]string, len(s))
	for i, c := range s {
		names[i] = c.Name
	}
	return names
}

// PrimaryKey returns the primary-key columns in key order.
func (s Schema) PrimaryKey() []string {
	var pk []string
	for _, c := range s {
		if c.PKIndex != nil && *c.PKIndex >= 0 && *c.PKIndex < len(s) {
			for len(pk) <= *c.PKIndex {
				pk = append(pk, "")
			}
			pk[*c.PKIndex] = c.Name
		}
	}
	return pk
}
