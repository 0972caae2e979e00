package protocol

// Response header names.
const (
	HeaderHandle     = "electric-handle"
	HeaderOffset     = "electric-offset"
	HeaderSchema     = "electric-schema"
	HeaderUpToDate   = "electric-up-to-date"
	HeaderHasData    = "electric-has-data"
	HeaderCursor     = "electric-cursor"
	HeaderKnownError = "electric-internal-known-error"
	HeaderSnapshot   = "electric-snapshot"
	HeaderServer     = "electric-server"
)

// ExposedHeaders is the access-control-expose-headers value: every header a
// browser client must be able to read.
const ExposedHeaders = "electric-cursor,electric-handle,electric-has-data,electric-offset,electric-schema,electric-up-to-date,electric-internal-known-error,retry-after"

// Query parameter names.
const (
	ParamTable     = "table"
	ParamOffset    = "offset"
	ParamHandle    = "handle"
	ParamLive      = "live"
	ParamLiveSSE   = "live_sse"
	ParamLiveSSEv0 = "experimental_live_sse"
	ParamCursor    = "cursor"
	ParamWhere     = "where"
	ParamParams    = "params"
	ParamColumns   = "columns"
	ParamReplica   = "replica"
	ParamLog       = "log"
	ParamSecret    = "secret"
	ParamSecretV0  = "api_secret"
)

// Control message values.
const (
	ControlUpToDate     = "up-to-date"
	ControlMustRefetch  = "must-refetch"
	ControlSnapshotEnd  = "snapshot-end"
	OffsetNow           = "now"
	ReplicaDefault      = "default"
	ReplicaFull         = "full"
	LogFull             = "full"
	LogChangesOnly      = "changes_only"
	MustRefetchResponse = `[{"headers":{"control":"must-refetch"}}]`
)
