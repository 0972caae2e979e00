package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/galvani-sync/galvani/internal/catalog"
	"github.com/galvani-sync/galvani/protocol"
)

// shapeRequest is a validated GET /v1/shape request.
type shapeRequest struct {
	schema, table string
	offset        protocol.Offset
	offsetText    string
	now           bool // offset=now
	handle        string
	live, sse     bool
	cursor        string
	columns       []string // nil: all columns
	replica       string
	log           string
	where         string
	params        map[string]string
}

// strictQuery parses the query string, refusing one that does not parse
// whole: net/url drops a malformed pair (such as one holding a raw ";")
// silently, which could turn a narrow shape request into a wider one.
func strictQuery(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, invalidField("query", "malformed query string: "+err.Error())
	}
	return lastWins(q), nil
}

// lastWins keeps only the last value of a repeated parameter, as Electric
// does: a proxy that appends its own where or table to a client's query
// must override the client's, never the other way round.
func lastWins(q url.Values) url.Values {
	for k, v := range q {
		if len(v) > 1 {
			q[k] = v[len(v)-1:]
		}
	}
	return q
}

// isTrue applies the protocol's rule for live and live_sse: present with
// any value but "false" means true (§2.1).
func isTrue(q url.Values, name string) (bool, bool) {
	v, ok := q[name]
	if !ok {
		return false, false
	}
	return v[0] != "false", true
}

// parseShapeRequest validates the query parameters before anything is
// looked up or created (§2.2); all problems are reported together.
func parseShapeRequest(q url.Values) (*shapeRequest, error) {
	req := &shapeRequest{replica: protocol.ReplicaDefault, log: protocol.LogFull}
	errs := map[string][]string{}
	add := func(field, msg string) { errs[field] = append(errs[field], msg) }

	switch off := q.Get(protocol.ParamOffset); {
	case off == "":
		add(protocol.ParamOffset, "can't be blank")
	case off == protocol.OffsetNow:
		req.now, req.offsetText = true, off
	default:
		o, err := protocol.ParseOffset(off)
		if err != nil {
			add(protocol.ParamOffset, "has invalid format")
		} else {
			req.offset, req.offsetText = o, off
		}
	}

	if t := q.Get(protocol.ParamTable); t == "" {
		add(protocol.ParamTable, "can't be blank")
	} else if schema, name, err := catalog.ParseRelationName(t); err != nil {
		add(protocol.ParamTable, err.Error())
	} else {
		req.schema, req.table = schema, name
	}

	initial := req.now || (req.offsetText != "" && req.offset == protocol.BeforeAll)
	if !initial {
		req.handle = q.Get(protocol.ParamHandle)
		if req.handle == "" && req.offsetText != "" {
			add(protocol.ParamHandle, "can't be blank when offset != -1")
		}
	}

	live, _ := isTrue(q, protocol.ParamLive)
	if live && req.offsetText != "" {
		if req.now {
			add(protocol.ParamLive, "can't be true when offset is 'now'")
		} else if req.offset == protocol.BeforeAll {
			add(protocol.ParamLive, "can't be true when offset == -1")
		}
	}
	req.live = live
	sse, present := isTrue(q, protocol.ParamLiveSSE)
	if !present {
		sse, _ = isTrue(q, protocol.ParamLiveSSEv0)
	}
	if sse && !live {
		add(protocol.ParamLiveSSE, "can't be true unless live is also true")
	}
	req.sse = sse
	req.cursor = q.Get(protocol.ParamCursor)

	if r, ok := q[protocol.ParamReplica]; ok {
		if r[0] != protocol.ReplicaDefault && r[0] != protocol.ReplicaFull {
			add(protocol.ParamReplica, "is invalid")
		} else {
			req.replica = r[0]
		}
	}
	if l, ok := q[protocol.ParamLog]; ok {
		if l[0] != protocol.LogFull && l[0] != protocol.LogChangesOnly {
			add(protocol.ParamLog, "is invalid")
		} else {
			req.log = l[0]
		}
	}
	if c := q.Get(protocol.ParamColumns); c != "" {
		cols, err := catalog.ParseColumnList(c)
		if err != nil {
			add(protocol.ParamColumns, err.Error())
		} else {
			req.columns = cols
		}
	}
	params, perr := parseParams(q)
	if perr != "" {
		add(protocol.ParamParams, perr)
	}
	req.params = params
	req.where = q.Get(protocol.ParamWhere)
	if len(errs) > 0 {
		return nil, invalid(errs)
	}
	return req, nil
}

// parseParams reads params[n]=v (deep-object syntax, which net/url does not
// group) and checks the keys are 1..n without gaps.
func parseParams(q url.Values) (map[string]string, string) {
	params := map[string]string{}
	for k, v := range q {
		if !strings.HasPrefix(k, "params[") || !strings.HasSuffix(k, "]") {
			continue
		}
		params[k[len("params["):len(k)-1]] = v[0]
	}
	// The JSON-object form: params={"1":"a","2":"b"} (values may be JSON
	// strings, numbers or booleans; they are bound as text).
	if raw := q.Get(protocol.ParamParams); raw != "" {
		var obj map[string]any
		if err := json.Unmarshal([]byte(raw), &obj); err != nil {
			return nil, "Parameters must be an object with numbers as keys"
		}
		for k, v := range obj {
			switch v := v.(type) {
			case string:
				params[k] = v
			case float64, bool:
				params[k] = fmt.Sprint(v)
			default:
				return nil, "Parameter values must be strings"
			}
		}
	}
	if len(params) == 0 {
		return nil, ""
	}
	nums := make([]int, 0, len(params))
	for k := range params {
		n, err := strconv.Atoi(k)
		if err != nil || n < 1 || strconv.Itoa(n) != k {
			return nil, "Parameters can only use numbers as keys"
		}
		nums = append(nums, n)
	}
	slices.Sort(nums)
	for i, n := range nums {
		if n != i+1 {
			return nil, "Parameters must be numbered sequentially, starting from 1"
		}
	}
	return params, ""
}

// paramList returns the parameters in $n order.
func (r *shapeRequest) paramList() []string {
	if len(r.params) == 0 {
		return nil
	}
	out := make([]string, len(r.params))
	for i := range out {
		out[i] = r.params[strconv.Itoa(i+1)]
	}
	return out
}

// requestKey identifies the request's shape definition before the catalog
// is consulted, for the fast path from request to live shape.
func (r *shapeRequest) requestKey() string {
	var b strings.Builder
	for _, s := range []string{r.schema, r.table, r.replica, r.log, r.where} {
		b.WriteString(strconv.Quote(s))
	}
	cols := slices.Clone(r.columns)
	slices.Sort(cols)
	b.WriteString(strconv.Quote(strings.Join(cols, "\x00")))
	b.WriteString(strconv.FormatBool(r.columns != nil))
	for i := 1; i <= len(r.params); i++ {
		b.WriteString(strconv.Quote(r.params[strconv.Itoa(i)]))
	}
	return b.String()
}

var errNoShape = errors.New("no shape")
