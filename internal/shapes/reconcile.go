package shapes

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/galvani-sync/galvani/internal/pg"
)

// DefaultReconcileInterval is how often shapes are checked against the
// catalog for schema changes the replication stream does not announce.
const DefaultReconcileInterval = 10 * time.Second

// RelationSource reads a table's current definition by OID
// (catalog.Inspector satisfies it).
type RelationSource interface {
	LookupOID(ctx context.Context, oid pg.OID) (*pg.Relation, error)
}

// Reconcile checks every shape against the catalog every interval until
// ctx ends, and invalidates shapes whose table was dropped, renamed, lost a
// column they use, changed a column's type, its primary key or its replica
// identity. pgoutput only reports such DDL with the table's next change,
// and not at all for a drop; this catches them within one interval.
// notFound reports whether a lookup error means the table is gone.
func (r *Registry) Reconcile(ctx context.Context, src RelationSource, interval time.Duration, notFound func(error) bool) error {
	if interval <= 0 {
		interval = DefaultReconcileInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			r.reconcileOnce(ctx, src, notFound)
		}
	}
}

func (r *Registry) reconcileOnce(ctx context.Context, src RelationSource, notFound func(error) bool) {
	r.mu.Lock()
	byTable := map[pg.OID][]*Shape{}
	for _, s := range r.byHandle {
		byTable[s.rel.ID] = append(byTable[s.rel.ID], s)
	}
	r.mu.Unlock()
	for oid, list := range byTable {
		cur, err := src.LookupOID(ctx, oid)
		if err != nil && !notFound(err) {
			if ctx.Err() == nil {
				r.log.Warn("schema check failed", "oid", oid, "error", err)
			}
			continue
		}
		for _, s := range list {
			reason := "table dropped"
			if err == nil {
				reason = s.incompatible(cur)
			}
			if reason == "" {
				continue
			}
			r.log.Info("shape invalidated", "handle", s.handle, "reason", reason)
			if err := r.Delete(ctx, s); err != nil && !errors.Is(err, context.Canceled) {
				r.log.Error("invalidate shape", "handle", s.handle, "error", err)
			}
		}
	}
}

// incompatible says why the table as it is now (cur) can no longer feed
// the shape, or "" when it still can.
func (s *Shape) incompatible(cur *pg.Relation) string {
	old := s.rel
	switch {
	case cur.Schema != old.Schema || cur.Name != old.Name:
		return "table renamed"
	case cur.ReplicaIdentity != 'f':
		return "replica identity changed"
	}
	pkNames := func(r *pg.Relation) []string {
		var names []string
		for _, i := range r.PK {
			names = append(names, r.Columns[i].Name)
		}
		return names
	}
	if !slices.Equal(pkNames(cur), pkNames(old)) {
		return "primary key changed"
	}
	if s.def.Columns == nil && len(cur.Columns) != len(old.Columns) {
		return "columns added or dropped"
	}
	for i, c := range old.Columns {
		if s.def.Columns != nil && !slices.Contains(s.cols, i) && !s.isPK[i] {
			continue
		}
		j := cur.ColumnIndex(c.Name)
		if j < 0 {
			return "column " + c.Name + " dropped or renamed"
		}
		if cur.Columns[j].TypeOID != c.TypeOID || cur.Columns[j].TypeMod != c.TypeMod {
			return "column " + c.Name + " changed type"
		}
	}
	return ""
}
