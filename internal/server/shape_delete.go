package server

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/galvani-sync/galvani/internal/catalog"
	"github.com/galvani-sync/galvani/internal/shapes"
	"github.com/galvani-sync/galvani/protocol"
)

// deleteShape serves DELETE /v1/shape (§1.5): it removes a shape named by
// its definition, its handle, or both. Clients of the shape get 409 on
// their next request and waiting long-polls are answered 409 at once.
func (s *Server) deleteShape(w http.ResponseWriter, r *http.Request) error {
	if !s.cfg.AllowDelete {
		return &httpError{status: http.StatusMethodNotAllowed, body: map[string]string{"message": "DELETE not allowed"}}
	}
	q, err := strictQuery(r)
	if err != nil {
		return err
	}
	if v, ok := q[protocol.ParamLive]; ok && v[0] != "true" && v[0] != "false" {
		return invalidField(protocol.ParamLive, "is invalid")
	}
	handle := q.Get(protocol.ParamHandle)
	var sh *shapes.Shape
	if q.Get(protocol.ParamTable) == "" {
		if handle == "" {
			return invalidField(protocol.ParamHandle, "can't be blank when shape definition is missing")
		}
		found, ok := s.registry.Get(handle)
		if !ok {
			return notFoundShape()
		}
		sh = found
	} else {
		def, err := s.definitionOf(r, q)
		if err != nil {
			return err
		}
		found, ok := s.registry.Lookup(def.Key())
		if !ok {
			return notFoundShape()
		}
		if handle != "" && handle != found.Handle() {
			return &httpError{status: http.StatusBadRequest, body: map[string]string{"message": "The specified shape definition and handle do not match. Please ensure the shape definition is correct or omit the shape handle from the request to obtain a new one."}}
		}
		sh = found
	}
	if err := s.registry.Delete(r.Context(), sh); err != nil {
		return unavailable("Failed to delete the shape, please retry", 1, err)
	}
	w.Header().Set("cache-control", "no-cache")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func notFoundShape() error {
	return &httpError{status: http.StatusNotFound, body: map[string]string{"message": "No existing shape found"}}
}

// definitionOf validates a DELETE request's definition parameters the way
// GET validates them, without offset rules, and resolves the table.
func (s *Server) definitionOf(r *http.Request, q url.Values) (shapes.Definition, error) {
	q2 := url.Values{}
	for k, v := range q {
		q2[k] = v
	}
	q2.Set(protocol.ParamOffset, "-1")
	delete(q2, protocol.ParamLive)
	req, err := parseShapeRequest(q2)
	if err != nil {
		return shapes.Definition{}, err
	}
	rel, err := s.catalog.Lookup(r.Context(), req.schema, req.table)
	switch {
	case errors.Is(err, catalog.ErrTableNotFound):
		return shapes.Definition{}, invalidField(protocol.ParamTable, catalog.NotFoundMessage(req.schema, req.table))
	case err != nil:
		return shapes.Definition{}, databaseUnreachable(err)
	}
	def, err := shapes.NewDefinition(rel, req.columns, req.where, req.paramList(), req.replica, req.log)
	var verr *shapes.ValidationError
	if errors.As(err, &verr) {
		return shapes.Definition{}, invalidField(verr.Field, verr.Message)
	}
	return def, err
}
