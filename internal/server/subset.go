package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/galvani-sync/galvani/internal/shapes"
	"github.com/galvani-sync/galvani/protocol"
)

// maxBodyBytes bounds a POST body (protocol §2.5).
const maxBodyBytes = 8_000_000

// subsetParams are a subset request's raw parameters, from subset__*
// query parameters with a POST body's values merged over them.
type subsetParams struct {
	present                       bool
	where, orderBy, limit, offset string
	params                        map[string]string
	paramsErr                     string
}

// readSubset collects subset parameters from the query and, for POST, the
// JSON body (§10.3). Body errors use the §2.5 shapes.
func readSubset(r *http.Request, q url.Values) (*subsetParams, error) {
	sp := &subsetParams{}
	for k := range q {
		if strings.HasPrefix(k, "subset__") && k != "subset__where_expr" && k != "subset__order_by_expr" {
			sp.present = true
		}
	}
	sp.where, sp.orderBy = q.Get("subset__where"), q.Get("subset__order_by")
	sp.limit, sp.offset = q.Get("subset__limit"), q.Get("subset__offset")
	if raw := q.Get("subset__params"); raw != "" {
		var obj any
		if err := json.Unmarshal([]byte(raw), &obj); err != nil {
			sp.paramsErr = "params must be valid JSON"
		} else if m, ok := obj.(map[string]any); !ok {
			sp.paramsErr = "params must be a JSON object"
		} else {
			sp.params = stringify(m)
		}
	}
	if r.Method != http.MethodPost {
		return sp, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, &httpError{status: http.StatusBadRequest, body: map[string]string{"error": "Failed to read request body"}}
	}
	if len(body) > maxBodyBytes {
		return nil, &httpError{status: http.StatusRequestEntityTooLarge, body: map[string]string{"error": "Request body too large"}}
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return sp, nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, &httpError{status: http.StatusBadRequest, body: map[string]string{"error": "Invalid JSON in request body", "details": err.Error()}}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &httpError{status: http.StatusBadRequest, body: map[string]string{"error": "Request body must be a JSON object"}}
	}
	if nested, ok := obj["subset"].(map[string]any); ok {
		obj = nested
	}
	str := func(key string, dst *string) {
		switch x := obj[key].(type) {
		case string:
			*dst, sp.present = x, true
		case float64:
			*dst, sp.present = strconv.FormatFloat(x, 'f', -1, 64), true
		}
	}
	str("where", &sp.where)
	str("order_by", &sp.orderBy)
	str("limit", &sp.limit)
	str("offset", &sp.offset)
	if p, ok := obj["params"]; ok {
		sp.present = true
		if m, ok := p.(map[string]any); ok {
			sp.params, sp.paramsErr = stringify(m), ""
		} else {
			sp.paramsErr = "params must be a JSON object"
		}
	}
	return sp, nil
}

func stringify(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = x
		case nil:
			out[k] = ""
		default:
			b, _ := json.Marshal(x)
			out[k] = string(b)
		}
	}
	return out
}

// request validates the subset parameters' forms.
func (sp *subsetParams) request() (shapes.SubsetRequest, error) {
	req := shapes.SubsetRequest{Where: sp.where, OrderBy: sp.orderBy}
	errs := map[string][]string{}
	if sp.paramsErr != "" {
		errs["params"] = []string{sp.paramsErr}
	}
	if sp.limit != "" {
		n, err := strconv.ParseInt(sp.limit, 10, 64)
		switch {
		case err != nil:
			errs["limit"] = []string{"is invalid"}
		case n <= 0:
			errs["limit"] = []string{"must be greater than 0"}
		default:
			req.Limit = n
		}
	}
	if sp.offset != "" {
		n, err := strconv.ParseInt(sp.offset, 10, 64)
		switch {
		case err != nil:
			errs["offset"] = []string{"is invalid"}
		case n < 0:
			errs["offset"] = []string{"must be greater than or equal to 0"}
		default:
			req.Offset = n
		}
	}
	if len(sp.params) > 0 {
		req.Params = make([]string, len(sp.params))
		for k, v := range sp.params {
			i, err := strconv.Atoi(k)
			if err != nil || i < 1 || i > len(sp.params) {
				errs["params"] = []string{"Parameters must be numbered sequentially, starting from 1"}
				break
			}
			req.Params[i-1] = v
		}
	}
	if len(errs) > 0 {
		return req, invalidSubset(errs)
	}
	return req, nil
}

// invalidSubset is the 400 for subset parameters, nested under "subset".
func invalidSubset(errs map[string][]string) *httpError {
	return &httpError{status: http.StatusBadRequest, body: map[string]any{
		"message": "Invalid request",
		"errors":  map[string]any{"subset": errs},
	}}
}

// serveSubset answers a subset snapshot request (§10.3).
func (s *Server) serveSubset(w http.ResponseWriter, r *http.Request, req *shapeRequest, sh *shapes.Shape, sp *subsetParams) error {
	sreq, err := sp.request()
	if err != nil {
		return err
	}
	// The offset the client adopts: the requested one for a real log
	// offset, 0_0 for -1, and for now the head read before the snapshot.
	l, err := sh.Log()
	if err != nil {
		return s.gone(sh)
	}
	head, _ := l.Head()
	offset := req.offset
	switch {
	case req.now:
		offset = head
	case req.offset == protocol.BeforeAll:
		offset = protocol.Offset{}
	}
	body, _, err := s.registry.Subset(r.Context(), sh, sreq)
	var serr *shapes.SubsetError
	if errors.As(err, &serr) {
		return invalidSubset(map[string][]string{serr.Field: {serr.Message}})
	}
	if err != nil {
		if r.Context().Err() != nil {
			return errClientGone
		}
		return unavailable("Failed to take the subset snapshot, please retry", 10, err)
	}
	h := w.Header()
	h.Set("content-type", "application/json; charset=utf-8")
	h.Set("cache-control", "no-cache")
	h.Set(protocol.HeaderSnapshot, "true")
	h.Set(protocol.HeaderHandle, sh.Handle())
	h.Set(protocol.HeaderOffset, offset.String())
	h.Set(protocol.HeaderSchema, sh.SchemaJSON())
	h.Set("content-length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return nil
}
