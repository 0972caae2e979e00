// Package catalog turns what a client names into what Postgres has: it parses
// the `table` and `columns` request parameters into identifiers (protocol
// §2.1, §2.2), reads table definitions from the system catalog (Inspector),
// and renders the `electric-schema` response header (protocol §5.7).
//
// Identifier parsing reports errors whose text is the exact message the
// protocol puts in a 400 body. Catalog lookups use bound parameters only and
// never consult search_path: a name is looked up exactly as given.
//
// A column of an enum type, or an array of one, carries the enum type
// (pg.Column.Enum): its OID, schema, name and labels in sort order
// (pg_enum.enumsortorder), as read by the same query, so where clauses can
// check labels and order values. The labels are a snapshot: a relation
// read before ALTER TYPE … ADD VALUE lacks the new label (see the where
// package's ErrUnknownEnumLabel).
package catalog
