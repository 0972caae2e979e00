package pg

// OID is a Postgres object identifier.
type OID uint32

// Column describes one column of a relation. Fields the replication stream
// does not carry (TypeName, Dims, NotNull, PKIndex, …) are filled from the
// catalog.
type Column struct {
	Name     string `json:"name"`
	TypeOID  OID    `json:"type_oid"`
	TypeMod  int32  `json:"type_mod"`
	TypeName string `json:"type_name"`           // pg_type.typname; for arrays the element type name
	TypeKind byte   `json:"type_kind,omitempty"` // pg_type.typtype of the (element) type: b, e, d, c, …
	Dims     int    `json:"dims,omitempty"`      // declared array dimensions (attndims); 0 for scalars
	IsArray  bool   `json:"is_array,omitempty"`  // the column's type is an array type
	NotNull  bool   `json:"not_null,omitempty"`
	PKIndex  int    `json:"pk_index"` // position in the primary key, -1 when not part of it
	// Generated is set for a stored generated column, which pgoutput (before
	// Postgres 18) does not send.
	Generated bool `json:"generated,omitempty"`
	// Collation names the column's collation when it is not the
	// database's default ("" otherwise).
	Collation string `json:"collation,omitempty"`
	// Enum describes the column's enum type (for an array column, its
	// element type) when TypeKind is 'e'; nil otherwise, or when the
	// catalog did not read it.
	Enum *Enum `json:"enum,omitempty"`
}

// Enum is a user-defined enum type: its identity and its labels in sort
// order (pg_enum.enumsortorder), the order in which Postgres compares the
// type's values.
type Enum struct {
	OID    OID      `json:"oid"`
	Schema string   `json:"schema"`
	Name   string   `json:"name"`
	Labels []string `json:"labels"`
}

// Relation is a table as Galvani sees it: its identity, its columns in
// attribute order and its primary key.
type Relation struct {
	ID      OID      `json:"oid"`
	Schema  string   `json:"schema"`
	Name    string   `json:"name"`
	Columns []Column `json:"columns"`
	// PK lists the indexes into Columns of the primary-key columns in key
	// order. A table without a primary key uses every column, in attribute
	// order (protocol §2.2).
	PK []int `json:"pk"`
	// ReplicaIdentity is pg_class.relreplident: d, n, f or i.
	ReplicaIdentity byte `json:"replica_identity"`
	// Partitioned is set for a partitioned table (relkind p), IsPartition
	// for a table that is a partition of one.
	Partitioned bool `json:"partitioned,omitempty"`
	IsPartition bool `json:"is_partition,omitempty"`
	// DefaultCollation is the database's default collation (datcollate),
	// under which text columns without their own collation compare.
	DefaultCollation string `json:"default_collation,omitempty"`
}

// ColumnIndex returns the position of the column named name, or -1.
func (r *Relation) ColumnIndex(name string) int {
	for i := range r.Columns {
		if r.Columns[i].Name == name {
			return i
		}
	}
	return -1
}
