package protocol

// ErrorBody is the JSON body of a 400 validation error:
// {"message":"Invalid request","errors":{"<param>":["<msg>"]}}.
type ErrorBody struct {
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors,omitempty"`
}
