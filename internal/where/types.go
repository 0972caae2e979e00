package where

// typeID names a Postgres scalar type (or pseudo-type) the where language
// knows. Array types are a typeID with pgType.array set.
type typeID uint8

const (
	tUnknown typeID = iota // an untyped literal or parameter (Postgres' unknown)
	tBool
	tInt2
	tInt4
	tInt8
	tFloat4
	tFloat8
	tNumeric
	tText
	tVarchar
	tUUID
	tBytea
	tJSONB
	tDate
	tTime
	tTimestamp
	tTimestamptz
	tInterval
	tEnum   // a user-defined enum type; pgType.enum says which
	tTimetz // time with time zone: only known, so resolution matches Postgres

	// Polymorphic pseudo-types of the operator and function catalog.
	tAnyElement
	tAnyArray
	tAnyNonArray
	tAnyEnum
	tAnyCompatible
	tAnyCompatibleArray
	tAnyCompatibleNonArray
	// tAny is the "any" of concat(VARIADIC "any").
	tAny

	numTypeIDs
)

// pgType is a type: a scalar, or an array of a scalar (Postgres has no
// distinct types for arrays of arrays). Types are compared with ==, so
// two enum types are the same type exactly when they share their
// *enumType, which a compilation creates once per enum type.
type pgType struct {
	id    typeID
	array bool
	enum  *enumType // for tEnum: which enum type
}

var (
	typUnknown     = pgType{id: tUnknown}
	typBool        = pgType{id: tBool}
	typInt2        = pgType{id: tInt2}
	typInt4        = pgType{id: tInt4}
	typInt8        = pgType{id: tInt8}
	typFloat4      = pgType{id: tFloat4}
	typFloat8      = pgType{id: tFloat8}
	typNumeric     = pgType{id: tNumeric}
	typText        = pgType{id: tText}
	typVarchar     = pgType{id: tVarchar}
	typUUID        = pgType{id: tUUID}
	typBytea       = pgType{id: tBytea}
	typJSONB       = pgType{id: tJSONB}
	typDate        = pgType{id: tDate}
	typTime        = pgType{id: tTime}
	typTimestamp   = pgType{id: tTimestamp}
	typTimestamptz = pgType{id: tTimestamptz}
	typInterval    = pgType{id: tInterval}
)

func arrayOf(t pgType) pgType { return pgType{id: t.id, array: true, enum: t.enum} }

// elem returns the element type of an array type.
func (t pgType) elem() pgType { return pgType{id: t.id, enum: t.enum} }

type typeInfo struct {
	name      string // pg_type.typname, as the where language spells it
	sqlName   string // format_type name used in Postgres' own messages
	category  byte   // pg_type.typcategory
	preferred bool   // pg_type.typispreferred
}

var typeInfos = [numTypeIDs]typeInfo{
	tUnknown:               {"unknown", "unknown", 'X', false},
	tBool:                  {"bool", "boolean", 'B', true},
	tInt2:                  {"int2", "smallint", 'N', false},
	tInt4:                  {"int4", "integer", 'N', false},
	tInt8:                  {"int8", "bigint", 'N', false},
	tFloat4:                {"float4", "real", 'N', false},
	tFloat8:                {"float8", "double precision", 'N', true},
	tNumeric:               {"numeric", "numeric", 'N', false},
	tText:                  {"text", "text", 'S', true},
	tVarchar:               {"varchar", "character varying", 'S', false},
	tUUID:                  {"uuid", "uuid", 'U', false},
	tBytea:                 {"bytea", "bytea", 'U', false},
	tJSONB:                 {"jsonb", "jsonb", 'U', false},
	tDate:                  {"date", "date", 'D', false},
	tTime:                  {"time", "time without time zone", 'D', false},
	tTimestamp:             {"timestamp", "timestamp without time zone", 'D', false},
	tTimestamptz:           {"timestamptz", "timestamp with time zone", 'D', true},
	tInterval:              {"interval", "interval", 'T', true},
	tEnum:                  {"enum", "enum", 'E', false},
	tTimetz:                {"timetz", "time with time zone", 'D', false},
	tAnyElement:            {"anyelement", "anyelement", 'P', false},
	tAnyArray:              {"anyarray", "anyarray", 'P', false},
	tAnyNonArray:           {"anynonarray", "anynonarray", 'P', false},
	tAnyEnum:               {"anyenum", "anyenum", 'P', false},
	tAnyCompatible:         {"anycompatible", "anycompatible", 'P', false},
	tAnyCompatibleArray:    {"anycompatiblearray", "anycompatiblearray", 'P', false},
	tAnyCompatibleNonArray: {"anycompatiblenonarray", "anycompatiblenonarray", 'P', false},
	tAny:                   {"any", "\"any\"", 'P', false},
}

// String returns the type's name as used in error messages and in the
// typed literals of the normalised clause: int4, text, int4[], ….
func (t pgType) String() string {
	name := typeInfos[t.id].name
	if t.id == tEnum && t.enum != nil {
		name = t.enum.displayName()
	}
	if t.array {
		return name + "[]"
	}
	return name
}

func (t pgType) category() byte {
	if t.array {
		return 'A'
	}
	return typeInfos[t.id].category
}

func (t pgType) preferred() bool {
	return !t.array && typeInfos[t.id].preferred
}

func (t pgType) isPolymorphic() bool {
	return !t.array && t.id >= tAnyElement && t.id <= tAnyCompatibleNonArray
}

func (t pgType) isUnknown() bool { return t == typUnknown }

// isString reports whether t is in the string category (text, varchar).
func (t pgType) isString() bool { return t.category() == 'S' }

// typeByName maps the type names a cast (or a type-named function) may use
// to their types: Postgres' internal names and the SQL-standard spellings
// the parser rewrites to pg_catalog names.
var typeByName = map[string]typeID{
	"bool":        tBool,
	"boolean":     tBool,
	"int2":        tInt2,
	"smallint":    tInt2,
	"int4":        tInt4,
	"int":         tInt4,
	"integer":     tInt4,
	"int8":        tInt8,
	"bigint":      tInt8,
	"float4":      tFloat4,
	"real":        tFloat4,
	"float8":      tFloat8,
	"numeric":     tNumeric,
	"decimal":     tNumeric,
	"text":        tText,
	"varchar":     tVarchar,
	"uuid":        tUUID,
	"bytea":       tBytea,
	"jsonb":       tJSONB,
	"date":        tDate,
	"time":        tTime,
	"timestamp":   tTimestamp,
	"timestamptz": tTimestamptz,
	"interval":    tInterval,
}

// columnTypeByName maps pg_type.typname of a column's (element) type to
// the where language's type.
var columnTypeByName = map[string]typeID{
	"bool":        tBool,
	"int2":        tInt2,
	"int4":        tInt4,
	"int8":        tInt8,
	"float4":      tFloat4,
	"float8":      tFloat8,
	"numeric":     tNumeric,
	"text":        tText,
	"varchar":     tVarchar,
	"uuid":        tUUID,
	"bytea":       tBytea,
	"jsonb":       tJSONB,
	"date":        tDate,
	"time":        tTime,
	"timestamp":   tTimestamp,
	"timestamptz": tTimestamptz,
	"interval":    tInterval,
}

// coercionContext is Postgres' CoercionContext.
type coercionContext uint8

const (
	coerceImplicit coercionContext = iota
	coerceAssignment
	coerceExplicit
)

// castPath is how a value of one type becomes another (Postgres'
// CoercionPathType).
type castPath uint8

const (
	pathNone        castPath = iota
	pathRelabel              // binary compatible: the value is unchanged
	pathFunc                 // a cast function
	pathArrayCoerce          // element-wise cast of an array
	pathIO                   // output then input function
)

type castKey struct{ from, to typeID }

// castTable is pg_cast restricted to the supported types: the context a
// cast needs and how it is done. Casts not listed may still exist through
// I/O conversion (see findCoercionPath).
var castTable = map[castKey]struct {
	ctx  coercionContext
	path castPath
}{
	{tBool, tInt4}:             {coerceExplicit, pathFunc},
	{tBool, tText}:             {coerceAssignment, pathFunc},
	{tBool, tVarchar}:          {coerceAssignment, pathFunc},
	{tInt8, tInt2}:             {coerceAssignment, pathFunc},
	{tInt8, tInt4}:             {coerceAssignment, pathFunc},
	{tInt8, tFloat4}:           {coerceImplicit, pathFunc},
	{tInt8, tFloat8}:           {coerceImplicit, pathFunc},
	{tInt8, tNumeric}:          {coerceImplicit, pathFunc},
	{tInt2, tInt8}:             {coerceImplicit, pathFunc},
	{tInt2, tInt4}:             {coerceImplicit, pathFunc},
	{tInt2, tFloat4}:           {coerceImplicit, pathFunc},
	{tInt2, tFloat8}:           {coerceImplicit, pathFunc},
	{tInt2, tNumeric}:          {coerceImplicit, pathFunc},
	{tInt4, tBool}:             {coerceExplicit, pathFunc},
	{tInt4, tInt8}:             {coerceImplicit, pathFunc},
	{tInt4, tInt2}:             {coerceAssignment, pathFunc},
	{tInt4, tFloat4}:           {coerceImplicit, pathFunc},
	{tInt4, tFloat8}:           {coerceImplicit, pathFunc},
	{tInt4, tNumeric}:          {coerceImplicit, pathFunc},
	{tText, tVarchar}:          {coerceImplicit, pathRelabel},
	{tFloat4, tInt8}:           {coerceAssignment, pathFunc},
	{tFloat4, tInt2}:           {coerceAssignment, pathFunc},
	{tFloat4, tInt4}:           {coerceAssignment, pathFunc},
	{tFloat4, tFloat8}:         {coerceImplicit, pathFunc},
	{tFloat4, tNumeric}:        {coerceAssignment, pathFunc},
	{tFloat8, tInt8}:           {coerceAssignment, pathFunc},
	{tFloat8, tInt2}:           {coerceAssignment, pathFunc},
	{tFloat8, tInt4}:           {coerceAssignment, pathFunc},
	{tFloat8, tFloat4}:         {coerceAssignment, pathFunc},
	{tFloat8, tNumeric}:        {coerceAssignment, pathFunc},
	{tVarchar, tText}:          {coerceImplicit, pathRelabel},
	{tDate, tTimestamp}:        {coerceImplicit, pathFunc},
	{tDate, tTimestamptz}:      {coerceImplicit, pathFunc},
	{tTime, tInterval}:         {coerceImplicit, pathFunc},
	{tTimestamp, tDate}:        {coerceAssignment, pathFunc},
	{tTimestamp, tTime}:        {coerceAssignment, pathFunc},
	{tTimestamp, tTimestamptz}: {coerceImplicit, pathFunc},
	{tTimestamptz, tDate}:      {coerceAssignment, pathFunc},
	{tTimestamptz, tTime}:      {coerceAssignment, pathFunc},
	{tTimestamptz, tTimestamp}: {coerceAssignment, pathFunc},
	{tInterval, tTime}:         {coerceAssignment, pathFunc},
	{tTime, tTimetz}:           {coerceImplicit, pathFunc},
	{tTimetz, tTime}:           {coerceAssignment, pathFunc},
	{tTimestamptz, tTimetz}:    {coerceAssignment, pathFunc},
	{tNumeric, tInt8}:          {coerceAssignment, pathFunc},
	{tNumeric, tInt2}:          {coerceAssignment, pathFunc},
	{tNumeric, tInt4}:          {coerceAssignment, pathFunc},
	{tNumeric, tFloat4}:        {coerceImplicit, pathFunc},
	{tNumeric, tFloat8}:        {coerceImplicit, pathFunc},
	{tJSONB, tBool}:            {coerceExplicit, pathFunc},
	{tJSONB, tInt8}:            {coerceExplicit, pathFunc},
	{tJSONB, tInt2}:            {coerceExplicit, pathFunc},
	{tJSONB, tInt4}:            {coerceExplicit, pathFunc},
	{tJSONB, tFloat4}:          {coerceExplicit, pathFunc},
	{tJSONB, tFloat8}:          {coerceExplicit, pathFunc},
	{tJSONB, tNumeric}:         {coerceExplicit, pathFunc},
}

// findCoercionPath is Postgres' find_coercion_pathway for the supported
// types: how from becomes to in the given context, or pathNone.
func findCoercionPath(from, to pgType, ctx coercionContext) castPath {
	if from == to {
		return pathRelabel
	}
	if from.isPolymorphic() || to.isPolymorphic() || from.isUnknown() || to.isUnknown() {
		return pathNone
	}
	if !from.array && !to.array {
		if c, ok := castTable[castKey{from.id, to.id}]; ok {
			if c.ctx <= ctx {
				return c.path
			}
			return pathNone
		}
	}
	if from.array && to.array {
		if findCoercionPath(from.elem(), to.elem(), ctx) != pathNone {
			return pathArrayCoerce
		}
	}
	if ctx >= coerceAssignment && to.isString() {
		return pathIO
	}
	if ctx >= coerceExplicit && from.isString() {
		return pathIO
	}
	return pathNone
}

// canCoerce is Postgres' can_coerce_type for implicit coercion of one
// value: unknown converts to anything, polymorphic targets are checked by
// the caller.
func canCoerce(from, to pgType) bool {
	if from == to || from.isUnknown() || to.isPolymorphic() || to.id == tAny {
		return true
	}
	return findCoercionPath(from, to, coerceImplicit) != pathNone
}
