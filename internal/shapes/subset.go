package shapes

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/snapshot"
	"github.com/galvani-sync/galvani/internal/where"
)

// SubsetRequest is a subset snapshot's parameters (protocol §10.3).
type SubsetRequest struct {
	Where   string
	Params  []string
	OrderBy string
	// Limit is 0 for none; Offset 0 for none.
	Limit, Offset int64
}

// SubsetError is a subset parameter problem: Field is where, params,
// order_by, limit or offset, reported under "subset" in the 400 body.
type SubsetError struct{ Field, Message string }

func (e *SubsetError) Error() string { return "subset." + e.Field + ": " + e.Message }

// Subset runs a subset snapshot of s: the shape's rows that also satisfy
// the subset's where clause, ordered and limited, read in one REPEATABLE
// READ transaction. It returns the response body
// {"metadata":{…},"data":[…]} and the snapshot's WAL position (read before
// the rows), after validating everything before touching Postgres.
func (r *Registry) Subset(ctx context.Context, s *Shape, req SubsetRequest) ([]byte, pg.LSN, error) {
	// Subsets may reference only the columns the shape selects.
	sub := &pg.Relation{ID: s.rel.ID, Schema: s.rel.Schema, Name: s.rel.Name, DefaultCollation: s.rel.DefaultCollation}
	for _, i := range s.cols {
		sub.Columns = append(sub.Columns, s.rel.Columns[i])
	}
	if (req.Limit > 0 || req.Offset > 0) && req.OrderBy == "" {
		return nil, 0, &SubsetError{"order_by", "order_by is required when limit or offset is present"}
	}
	var orderBy string
	if req.OrderBy != "" {
		var err error
		if orderBy, err = where.OrderBy(req.OrderBy, sub); err != nil {
			return nil, 0, subsetErr("order_by", err)
		}
	}
	q := snapshot.Query{Relation: s.rel, OrderBy: orderBy, Limit: req.Limit, Offset: req.Offset}
	var clauses []string
	if s.where != nil {
		sql, args := s.where.SQL()
		clauses = append(clauses, sql)
		for _, a := range args {
			q.Args = append(q.Args, a)
		}
	}
	if req.Where != "" {
		expr, err := compileWhere(req.Where, req.Params, sub)
		if err != nil {
			return nil, 0, subsetErr("where", err)
		}
		sql, args, err := expr.SQLFrom(len(q.Args))
		if err != nil {
			return nil, 0, fmt.Errorf("render subset where: %w", err)
		}
		clauses = append(clauses, sql)
		for _, a := range args {
			q.Args = append(q.Args, a)
		}
	}
	for i, c := range clauses {
		if i > 0 {
			q.Where += " AND "
		}
		q.Where += "(" + c + ")"
	}

	mark := rand.Int32N(1<<31 - 1)
	var (
		body    []byte
		lsn     pg.LSN
		scratch []byte
		rows    int
	)
	q.OnSnapshot = func(snap pg.Snapshot, at pg.LSN) error {
		lsn = at
		body = append(body[:0], `{"metadata":{`...)
		body = appendSnapshotFields(body, snap)
		body = append(body, `,"database_lsn":"`...)
		body = strconv.AppendUint(body, uint64(at), 10)
		body = append(body, `","snapshot_mark":`...)
		body = strconv.AppendInt(body, int64(mark), 10)
		body = append(body, `},"data":[`...)
		rows = 0
		return nil
	}
	q.OnRow = func(row pg.Row) error {
		if rows > 0 {
			body = append(body, ',')
		}
		rows++
		body, scratch = s.appendSubsetInsert(body, row, mark, scratch)
		return nil
	}
	if err := snapshot.Take(ctx, r.cfg.SnapshotPool, q); err != nil {
		return nil, 0, fmt.Errorf("subset snapshot of %s: %w", s.rel.QualifiedName(), err)
	}
	return append(body, "]}"...), lsn, nil
}

func subsetErr(field string, err error) error {
	var werr *where.Error
	if errors.As(err, &werr) {
		return &SubsetError{field, werr.Message}
	}
	return err
}

// appendSubsetInsert appends a subset row's insert message: a snapshot
// insert whose headers also carry the snapshot mark.
func (s *Shape) appendSubsetInsert(dst []byte, row pg.Row, mark int32, scratch []byte) ([]byte, []byte) {
	dst = append(dst, `{"key":`...)
	dst, scratch = s.appendKey(dst, row, scratch)
	dst = append(dst, `,"value":`...)
	dst = pg.AppendRowObject(dst, s.rel, row, s.cols)
	dst = append(dst, `,"headers":{"operation":"insert","relation":`...)
	dst = s.appendRelation(dst)
	dst = append(dst, `,"snapshot_mark":`...)
	dst = strconv.AppendInt(dst, int64(mark), 10)
	return append(dst, "}}"...), scratch
}
