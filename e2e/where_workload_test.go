package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/galvani-sync/galvani/internal/oracle"
)

// whereWorkload generates random transactions on the table, as SQL text
// (so a failure message shows the exact statements). It tracks the live
// ids so that primary-key changes and inserts never collide.
type whereWorkload struct {
	r      *rand.Rand
	tab    *oracle.Table
	pool   *oracle.Table
	live   []int64  // sorted
	hot    []int64  // ids the fixed shapes name
	hotCol []string // columns the fixed shapes name
	nextID int64
}

func (w *whereWorkload) ident(s string) string { return pgx.Identifier{s}.Sanitize() }

// target returns a live id, often one the fixed shapes name.
func (w *whereWorkload) target() (int64, bool) {
	if len(w.live) == 0 {
		return 0, false
	}
	if w.r.IntN(5) < 2 {
		h := w.hot[w.r.IntN(len(w.hot))]
		if _, ok := slices.BinarySearch(w.live, h); ok {
			return h, true
		}
	}
	return w.live[w.r.IntN(len(w.live))], true
}

// newID returns an unused id: often a free id the fixed shapes name, so
// rows move into them.
func (w *whereWorkload) newID() int64 {
	if w.r.IntN(3) == 0 {
		var free []int64
		for _, h := range w.hot {
			if _, ok := slices.BinarySearch(w.live, h); !ok {
				free = append(free, h)
			}
		}
		if len(free) > 0 {
			return free[w.r.IntN(len(free))]
		}
	}
	w.nextID++
	return w.nextID - 1
}

func (w *whereWorkload) add(id int64) {
	i, _ := slices.BinarySearch(w.live, id)
	w.live = slices.Insert(w.live, i, id)
}

func (w *whereWorkload) remove(id int64) {
	if i, ok := slices.BinarySearch(w.live, id); ok {
		w.live = slices.Delete(w.live, i, i+1)
	}
}

// someColumns returns 1–3 random non-key columns, quoted, often
// including one the fixed shapes name.
func (w *whereWorkload) someColumns() []string {
	n := 1 + w.r.IntN(3)
	var cols []string
	if len(w.hotCol) > 0 && w.r.IntN(2) == 0 {
		cols = append(cols, w.ident(w.hotCol[w.r.IntN(len(w.hotCol))]))
	}
	for _, i := range w.r.Perm(len(w.tab.Columns)) {
		if len(cols) >= n {
			break
		}
		if c := w.ident(w.tab.Columns[i].Name); !slices.Contains(cols, c) {
			cols = append(cols, c)
		}
	}
	sort.Strings(cols)
	return cols
}

func (w *whereWorkload) allColumns() []string {
	var cols []string
	for _, c := range w.tab.Columns {
		cols = append(cols, w.ident(c.Name))
	}
	return cols
}

// setFrom returns "SET c = (SELECT c FROM src WHERE id = n)" for the
// columns, in the one- or many-column form.
func setFrom(cols []string, src string, id int64) string {
	if len(cols) == 1 {
		return fmt.Sprintf("SET %s = (SELECT %s FROM %s WHERE id = %d)", cols[0], cols[0], src, id)
	}
	list := strings.Join(cols, ", ")
	return fmt.Sprintf("SET (%s) = (SELECT %s FROM %s WHERE id = %d)", list, list, src, id)
}

// transaction returns 1–5 statements.
func (w *whereWorkload) transaction() []string {
	var stmts []string
	for n := 1 + w.r.IntN(5); len(stmts) < n; {
		if s := w.statement(); s != "" {
			stmts = append(stmts, s)
		}
	}
	return stmts
}

// statement returns one random statement, or "" when it found nothing to
// do.
func (w *whereWorkload) statement() string {
	t, pool := w.ident(w.tab.Name), w.ident(w.pool.Name)
	poolID := 1 + w.r.Int64N(wherePoolRows)
	switch w.r.IntN(16) {
	case 0, 1:
		// A new row from the pool of random rows.
		id := w.newID()
		w.add(id)
		return fmt.Sprintf("INSERT INTO %s SELECT %d, %s FROM %s WHERE id = %d", t, id, strings.Join(w.allColumns(), ", "), pool, poolID)
	case 2:
		// A copy of a row under a new id.
		src, ok := w.target()
		if !ok {
			return ""
		}
		id := w.newID()
		w.add(id)
		return fmt.Sprintf("INSERT INTO %s SELECT %d, %s FROM %s WHERE id = %d", t, id, strings.Join(w.allColumns(), ", "), t, src)
	case 3, 4:
		id, ok := w.target()
		if !ok {
			return ""
		}
		w.remove(id)
		return fmt.Sprintf("DELETE FROM %s WHERE id = %d", t, id)
	case 5, 6:
		// Fresh random values.
		id, ok := w.target()
		if !ok {
			return ""
		}
		return fmt.Sprintf("UPDATE %s %s WHERE id = %d", t, setFrom(w.someColumns(), pool, poolID), id)
	case 7, 8, 9:
		// Values copied from another row: moves rows into and out of
		// the shapes that row is in.
		id, ok1 := w.target()
		src, ok2 := w.target()
		if !ok1 || !ok2 {
			return ""
		}
		return fmt.Sprintf("UPDATE %s %s WHERE id = %d", t, setFrom(w.someColumns(), t, src), id)
	case 10:
		// A whole row copied from another.
		id, ok1 := w.target()
		src, ok2 := w.target()
		if !ok1 || !ok2 {
			return ""
		}
		return fmt.Sprintf("UPDATE %s %s WHERE id = %d", t, setFrom(w.allColumns(), t, src), id)
	case 11:
		// Many rows at once.
		src, ok := w.target()
		if !ok {
			return ""
		}
		return fmt.Sprintf("UPDATE %s %s WHERE id %% 4 = %d", t, setFrom(w.someColumns(), t, src), w.r.IntN(4))
	case 12, 13:
		// A primary-key change.
		id, ok := w.target()
		if !ok {
			return ""
		}
		to := w.newID()
		w.remove(id)
		w.add(to)
		return fmt.Sprintf("UPDATE %s SET id = %d WHERE id = %d", t, to, id)
	case 14:
		// A primary-key change that also changes values.
		id, ok1 := w.target()
		src, ok2 := w.target()
		if !ok1 || !ok2 {
			return ""
		}
		to := w.newID()
		w.remove(id)
		w.add(to)
		cols := w.someColumns()
		list := strings.Join(cols, ", ")
		return fmt.Sprintf("UPDATE %s SET id = %d, (%s) = (SELECT %s FROM %s WHERE id = %d) WHERE id = %d", t, to, list, list, t, src, id)
	}
	// An update that changes nothing.
	id, ok := w.target()
	if !ok {
		return ""
	}
	c := w.someColumns()[0]
	return fmt.Sprintf("UPDATE %s SET %s = %s WHERE id = %d", t, c, c, id)
}
