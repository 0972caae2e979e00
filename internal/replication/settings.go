package replication

// DisplaySettings are the session settings under which Postgres formats
// values, on the replication connection and on every snapshot connection
// alike (protocol §5.5), so a value reads the same from both paths.
func DisplaySettings() map[string]string {
	return map[string]string{
		"bytea_output":       "hex",
		"DateStyle":          "ISO, DMY",
		"TimeZone":           "UTC",
		"extra_float_digits": "1",
		"IntervalStyle":      "iso_8601",
	}
}
