// Package pg holds Postgres vocabulary shared by Galvani's layers, without I/O:
// LSNs, transaction ids and snapshots, relations and columns as pgoutput and
// the catalog describe them, decoded changes, row keys and identifier quoting.
//
// Values are kept exactly as Postgres prints them in text format (the type's
// output function under Galvani's session settings), so the snapshot path and
// the replication path produce identical bytes for the same row (see
// architecture invariant 5). Nothing here allocates per value beyond the
// string that holds it.
package pg
