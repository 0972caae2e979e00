package catalog

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/galvani-sync/galvani/internal/pg"
)

func colNames(rel *pg.Relation) []string {
	names := make([]string, len(rel.Columns))
	for i, c := range rel.Columns {
		names[i] = c.Name
	}
	return names
}

func TestLookup(t *testing.T) {
	ins, pool := newInspector(t, `
		CREATE TABLE items (id int8 PRIMARY KEY, title text NOT NULL, tags text[]);
		CREATE TABLE nopk (a int, b text, c bool);
		CREATE SCHEMA "My Schema";
		CREATE TABLE "My Schema"."Mixed Case" ("Id" int PRIMARY KEY, "Na""me" text, "x.y" int);
		CREATE VIEW v AS SELECT * FROM items;
		CREATE MATERIALIZED VIEW mv AS SELECT * FROM items;
		CREATE SEQUENCE seq;
		CREATE FOREIGN DATA WRAPPER dummy;
		CREATE SERVER srv FOREIGN DATA WRAPPER dummy;
		CREATE FOREIGN TABLE ft (id int) SERVER srv;
		CREATE TABLE parted (id int, region text, v text, PRIMARY KEY (region, id)) PARTITION BY LIST (region);
		CREATE TABLE parted_eu PARTITION OF parted FOR VALUES IN ('eu');
		CREATE TABLE dropped (a int, b int, c int, d int PRIMARY KEY);
		ALTER TABLE dropped DROP COLUMN b;
		ALTER TABLE dropped ADD COLUMN e text;
		CREATE TABLE nocols ();
		CREATE TABLE full_ident (id int PRIMARY KEY);
		ALTER TABLE full_ident REPLICA IDENTITY FULL;
	`)
	ctx := context.Background()

	t.Run("items", func(t *testing.T) {
		rel, err := ins.Lookup(ctx, "public", "items")
		if err != nil {
			t.Fatal(err)
		}
		want := &pg.Relation{
			ID: oidOf(t, pool, "public.items"), Schema: "public", Name: "items",
			Columns: []pg.Column{
				{Name: "id", TypeOID: 20, TypeMod: -1, TypeName: "int8", TypeKind: 'b', NotNull: true, PKIndex: 0},
				{Name: "title", TypeOID: 25, TypeMod: -1, TypeName: "text", TypeKind: 'b', NotNull: true, PKIndex: -1},
				{Name: "tags", TypeOID: 1009, TypeMod: -1, TypeName: "text", TypeKind: 'b', Dims: 1, IsArray: true, PKIndex: -1},
			},
			PK:               []int{0},
			ReplicaIdentity:  'd',
			DefaultCollation: "C", // the test cluster's initdb --locale=C
		}
		if !reflect.DeepEqual(rel, want) {
			t.Errorf("Lookup = %+v\nwant     %+v", rel, want)
		}
		byOID, err := ins.LookupOID(ctx, rel.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(byOID, rel) {
			t.Errorf("LookupOID = %+v\nwant      %+v", byOID, rel)
		}
	})

	t.Run("no primary key", func(t *testing.T) {
		rel, err := ins.Lookup(ctx, "public", "nopk")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rel.PK, []int{0, 1, 2}) {
			t.Errorf("PK = %v, want all columns [0 1 2]", rel.PK)
		}
		for _, c := range rel.Columns {
			if c.PKIndex != -1 {
				t.Errorf("column %s PKIndex = %d, want -1", c.Name, c.PKIndex)
			}
		}
	})

	t.Run("quoted mixed case", func(t *testing.T) {
		schema, name, err := ParseRelationName(`"My Schema"."Mixed Case"`)
		if err != nil {
			t.Fatal(err)
		}
		rel, err := ins.Lookup(ctx, schema, name)
		if err != nil {
			t.Fatal(err)
		}
		if rel.Schema != "My Schema" || rel.Name != "Mixed Case" {
			t.Errorf("relation %q.%q", rel.Schema, rel.Name)
		}
		if got, want := colNames(rel), []string{"Id", `Na"me`, "x.y"}; !reflect.DeepEqual(got, want) {
			t.Errorf("columns %q, want %q", got, want)
		}
		if !reflect.DeepEqual(rel.PK, []int{0}) {
			t.Errorf("PK = %v", rel.PK)
		}
		// Unquoted, the same text folds to lower case and is not found.
		schema, name, err = ParseRelationName(`My_Schema.Mixed_Case`)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ins.Lookup(ctx, schema, name); !errors.Is(err, ErrTableNotFound) {
			t.Errorf("Lookup(%q, %q) error = %v, want ErrTableNotFound", schema, name, err)
		}
		if _, err := ins.Lookup(ctx, "my schema", "mixed case"); !errors.Is(err, ErrTableNotFound) {
			t.Errorf("lower-case lookup error = %v, want ErrTableNotFound", err)
		}
	})

	t.Run("not tables", func(t *testing.T) {
		for _, name := range []string{"v", "mv", "seq", "ft", "nonexistent", "nocols", "items_pkey"} {
			rel, err := ins.Lookup(ctx, "public", name)
			if !errors.Is(err, ErrTableNotFound) {
				t.Errorf("Lookup(public, %s) = %v, %v; want ErrTableNotFound", name, rel, err)
			}
		}
		for _, name := range []string{"v", "mv", "ft"} {
			rel, err := ins.LookupOID(ctx, oidOf(t, pool, name))
			if !errors.Is(err, ErrTableNotFound) {
				t.Errorf("LookupOID(%s) = %v, %v; want ErrTableNotFound", name, rel, err)
			}
		}
		if _, err := ins.LookupOID(ctx, 4000000000); !errors.Is(err, ErrTableNotFound) {
			t.Errorf("LookupOID(missing) error = %v, want ErrTableNotFound", err)
		}
		if _, err := ins.Lookup(ctx, "nope", "items"); !errors.Is(err, ErrTableNotFound) {
			t.Errorf("missing schema error = %v, want ErrTableNotFound", err)
		}
		// Names that cannot exist are not found rather than failing the query
		// (or being truncated to 63 bytes and matching something else).
		long := strings.Repeat("a", 63)
		for _, name := range []string{"", "a\x00b", "\xff", long + "b"} {
			if _, err := ins.Lookup(ctx, "public", name); !errors.Is(err, ErrTableNotFound) {
				t.Errorf("Lookup(public, %q) error = %v, want ErrTableNotFound", name, err)
			}
		}
	})

	t.Run("partitioned", func(t *testing.T) {
		rel, err := ins.Lookup(ctx, "public", "parted")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := colNames(rel), []string{"id", "region", "v"}; !reflect.DeepEqual(got, want) {
			t.Errorf("columns %q, want %q", got, want)
		}
		if !reflect.DeepEqual(rel.PK, []int{1, 0}) {
			t.Errorf("PK = %v, want [1 0] (region, id)", rel.PK)
		}
		if rel.Columns[1].PKIndex != 0 || rel.Columns[0].PKIndex != 1 || rel.Columns[2].PKIndex != -1 {
			t.Errorf("PKIndex = %d %d %d", rel.Columns[0].PKIndex, rel.Columns[1].PKIndex, rel.Columns[2].PKIndex)
		}
		part, err := ins.Lookup(ctx, "public", "parted_eu")
		if err != nil {
			t.Fatalf("partition: %v", err)
		}
		if !reflect.DeepEqual(part.PK, []int{1, 0}) {
			t.Errorf("partition PK = %v", part.PK)
		}
	})

	t.Run("dropped column", func(t *testing.T) {
		rel, err := ins.Lookup(ctx, "public", "dropped")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := colNames(rel), []string{"a", "c", "d", "e"}; !reflect.DeepEqual(got, want) {
			t.Errorf("columns %q, want %q", got, want)
		}
		if !reflect.DeepEqual(rel.PK, []int{2}) || rel.Columns[2].PKIndex != 0 {
			t.Errorf("PK = %v", rel.PK)
		}
	})

	t.Run("replica identity", func(t *testing.T) {
		rel, err := ins.Lookup(ctx, "public", "full_ident")
		if err != nil {
			t.Fatal(err)
		}
		if rel.ReplicaIdentity != 'f' {
			t.Errorf("ReplicaIdentity = %q, want 'f'", rel.ReplicaIdentity)
		}
	})
}

func TestLookupCanceled(t *testing.T) {
	ins, _ := newInspector(t, "CREATE TABLE t (id int)")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ins.Lookup(ctx, "public", "t")
	if err == nil || errors.Is(err, ErrTableNotFound) {
		t.Fatalf("Lookup with canceled context: %v, want a query error", err)
	}
}

func TestNotFoundMessage(t *testing.T) {
	tests := []struct{ schema, name, want string }{
		{"public", "nonexistent", `Table "public"."nonexistent" does not exist. If the table name contains capitals or special characters you must quote it.`},
		{"My Schema", `Na"me\`, `Table "My Schema"."Na\"me\\" does not exist. If the table name contains capitals or special characters you must quote it.`},
		{"é", "a\nb", `Table "é"."a\nb" does not exist. If the table name contains capitals or special characters you must quote it.`},
	}
	for _, tt := range tests {
		if got := NotFoundMessage(tt.schema, tt.name); got != tt.want {
			t.Errorf("NotFoundMessage(%q, %q) = %s\nwant %s", tt.schema, tt.name, got, tt.want)
		}
	}
}

// TestLookupCollations: a column with its own collation reports it; the
// database default is on the relation.
func TestLookupCollations(t *testing.T) {
	if testing.Short() {
		return
	}
	ins, _ := newInspector(t, `CREATE TABLE coll (id int PRIMARY KEY, a text, b text COLLATE "POSIX")`)
	rel, err := ins.Lookup(context.Background(), "public", "coll")
	if err != nil {
		t.Fatal(err)
	}
	if rel.DefaultCollation != "C" || rel.Columns[1].Collation != "" || rel.Columns[2].Collation != "POSIX" {
		t.Errorf("collations: default %q, a %q, b %q; want C, \"\", POSIX", rel.DefaultCollation, rel.Columns[1].Collation, rel.Columns[2].Collation)
	}
}

// TestLookupEnums: enum columns and arrays of enums carry their enum type,
// with the labels in sort order (pg_enum.enumsortorder, which ADD VALUE
// BEFORE/AFTER makes differ from creation and text order); a domain over
// an enum is not an enum column.
func TestLookupEnums(t *testing.T) {
	if testing.Short() {
		return
	}
	ins, pool := newInspector(t, `
		CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
		ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok';
		ALTER TYPE mood ADD VALUE 'ecstatic' AFTER 'happy';
		ALTER TYPE mood ADD VALUE 'awful' BEFORE 'sad';
		CREATE SCHEMA "Other";
		CREATE TYPE "Other"."Hue" AS ENUM ('red', 'it''s', 'with space');
		CREATE TYPE empty AS ENUM ();
		CREATE DOMAIN dmood AS mood;
		CREATE TABLE e (id int PRIMARY KEY, m mood, am mood[], h "Other"."Hue", n empty, d dmood, t text);
	`)
	rel, err := ins.Lookup(context.Background(), "public", "e")
	if err != nil {
		t.Fatal(err)
	}
	mood := &pg.Enum{OID: oidOfType(t, pool, "mood"), Schema: "public", Name: "mood",
		Labels: []string{"awful", "sad", "meh", "ok", "happy", "ecstatic"}}
	want := map[string]*pg.Enum{
		"m":  mood,
		"am": mood,
		"h":  {OID: oidOfType(t, pool, `"Other"."Hue"`), Schema: "Other", Name: "Hue", Labels: []string{"red", "it's", "with space"}},
		"n":  {OID: oidOfType(t, pool, "empty"), Schema: "public", Name: "empty", Labels: []string{}},
	}
	for _, c := range rel.Columns {
		if !reflect.DeepEqual(c.Enum, want[c.Name]) {
			t.Errorf("column %s: Enum = %+v, want %+v", c.Name, c.Enum, want[c.Name])
		}
	}
	if am := rel.Columns[2]; !am.IsArray || am.TypeName != "mood" || am.TypeKind != 'e' {
		t.Errorf("column am = %+v, want an array of mood", am)
	}
}

func oidOfType(t *testing.T, pool *pgxpool.Pool, name string) pg.OID {
	t.Helper()
	var oid uint32
	if err := pool.QueryRow(context.Background(), "SELECT $1::regtype::oid", name).Scan(&oid); err != nil {
		t.Fatal(err)
	}
	return pg.OID(oid)
}
