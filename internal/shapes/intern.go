package shapes

import (
	"encoding/json"
	"sync"

	"github.com/galvani-sync/galvani/internal/pg"
)

// interner shares the parts many shapes hold identical copies of: the
// table description each shape's metadata repeats, and the schema header
// text. With thousands of shapes on one table, one copy serves them all.
// It is safe for concurrent use; entries live as long as the registry.
type interner struct {
	mu      sync.Mutex
	rels    map[string]*pg.Relation // by the relation's JSON
	strings map[string]string
}

func newInterner() *interner {
	return &interner{rels: map[string]*pg.Relation{}, strings: map[string]string{}}
}

// relation decodes a relation's JSON, returning the same *pg.Relation for
// equal JSON. Relations are never modified after decoding.
func (in *interner) relation(raw json.RawMessage) (*pg.Relation, error) {
	in.mu.Lock()
	rel, ok := in.rels[string(raw)]
	in.mu.Unlock()
	if ok {
		return rel, nil
	}
	rel = new(pg.Relation)
	if err := json.Unmarshal(raw, rel); err != nil {
		return nil, err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if prev, ok := in.rels[string(raw)]; ok {
		return prev, nil
	}
	in.rels[string(raw)] = rel
	return rel, nil
}

// string returns s, or an equal string interned before.
func (in *interner) string(s string) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if prev, ok := in.strings[s]; ok {
		return prev
	}
	in.strings[s] = s
	return s
}
