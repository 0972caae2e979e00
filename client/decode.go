package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/galvani-sync/galvani/protocol"
)

// Shape responses are decoded by a hand-written parser that knows the
// messages servers send: data messages whose values are strings or null,
// and control messages. It gives exactly what encoding/json gives for the
// same input (FuzzDecoderMatchesEncodingJSON checks this), and hands any
// body it does not fully understand (a field it does not know, a null
// where it expects a value, a number out of range, malformed JSON) to
// encoding/json, so errors and rarely used fields are encoding/json's.
//
// It is several times faster than encoding/json on a snapshot chunk
// because it allocates little per message: the message's strings (key and
// values) are unescaped into one string whose slices the fields take,
// the pointers of a value map share one backing array, column and
// relation names are interned across the body, and the message slice is
// sized from the first message. It copies everything it keeps, so the
// body's buffer may be reused once it returns.

// decodeMessages decodes a shape response body: a JSON array of messages
// (an empty body counts as an empty array, as for the TypeScript client).
func decodeMessages(body []byte) ([]protocol.Message, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, nil
	}
	if trimmed[0] != '[' {
		return nil, fmt.Errorf("%w: body is not a JSON array: %s", ErrBadResponse, preview(trimmed))
	}
	var d decoder
	msgs, ok := d.array(trimmed)
	if !ok {
		msgs = nil
		if err := json.Unmarshal(trimmed, &msgs); err != nil {
			return nil, fmt.Errorf("%w: body: %v", ErrBadResponse, err)
		}
	}
	for i := range msgs {
		if err := checkMessage(&msgs[i]); err != nil {
			return nil, err
		}
	}
	return msgs, nil
}

// decodeMessage decodes one message (an SSE event's data).
func decodeMessage(data []byte) (protocol.Message, error) {
	var d decoder
	d.data = data
	var m protocol.Message
	d.ws()
	ok := d.message(&m)
	if ok {
		d.ws()
		ok = d.pos == len(d.data)
	}
	if !ok {
		m = protocol.Message{}
		if err := json.Unmarshal(data, &m); err != nil {
			return m, fmt.Errorf("%w: event %s: %v", ErrBadResponse, preview(data), err)
		}
	}
	return m, checkMessage(&m)
}

// span is a string being decoded: bytes [start, end) of decoder.buf.
type span struct{ start, end int }

// entry is a value map entry being decoded.
type entry struct {
	name string
	val  span
	null bool
}

// decoder holds the state of one body's decoding. Its methods return false
// when the input is not one they decode; the caller then decodes the whole
// input with encoding/json.
type decoder struct {
	data []byte
	pos  int

	// The message being decoded: its unescaped strings in buf, its value
	// and old_value entries, the spans of its string headers.
	buf        []byte
	vals, olds []entry
	xip        []span
	rel        []string // headers.relation, interned
	hasRel     bool
	strs       [numStrs]span // string fields, by the str* constants
	hasStr     [numStrs]bool

	names     map[string]string // interned column names, relation names, controls
	lastNames []string          // the previous value map's names, in order
	lastRel   []string          // the previous relation's names
}

// Indexes of decoder.strs: the string fields of a message.
const (
	strKey = iota
	strLSN
	strGlobalLSN
	strXmin
	strXmax
	strKeyChangeTo
	strKeyChangeFrom
	numStrs
)

// maxInterned bounds the decoder's table of interned names.
const maxInterned = 4096

// array decodes a JSON array of messages that spans all of data.
func (d *decoder) array(data []byte) ([]protocol.Message, bool) {
	d.data, d.pos = data, 0
	d.ws()
	if !d.byte('[') {
		return nil, false
	}
	msgs := make([]protocol.Message, 0, 1)
	d.ws()
	if d.byte(']') {
		d.ws()
		return msgs, d.pos == len(d.data)
	}
	for {
		start := d.pos
		msgs = append(msgs, protocol.Message{})
		if !d.message(&msgs[len(msgs)-1]) {
			return nil, false
		}
		if len(msgs) == 1 {
			// Size the slice from the first message: snapshot chunks hold
			// tens of thousands of messages of similar size.
			if n := d.pos - start; n > 0 {
				more := make([]protocol.Message, 1, 1+(len(d.data)-d.pos)/n*11/10+1)
				more[0] = msgs[0]
				msgs = more
			}
		}
		d.ws()
		if d.byte(',') {
			d.ws()
			continue
		}
		if !d.byte(']') {
			return nil, false
		}
		d.ws()
		return msgs, d.pos == len(d.data)
	}
}

// message decodes one message object into m, which must be zero.
func (d *decoder) message(m *protocol.Message) bool {
	d.buf, d.vals, d.olds, d.xip, d.rel = d.buf[:0], d.vals[:0], d.olds[:0], d.xip[:0], d.rel[:0]
	d.hasStr, d.hasRel = [numStrs]bool{}, false
	var hasValue, hasOld, hasHeaders bool
	if !d.byte('{') {
		return false
	}
	d.ws()
	if !d.byte('}') {
		for {
			name, ok := d.key()
			if !ok {
				return false
			}
			switch string(name) {
			case "key":
				if d.hasStr[strKey] || !d.strAt(strKey) {
					return false
				}
			case "value":
				if hasValue || !d.object(&d.vals, true) {
					return false
				}
				hasValue = true
			case "old_value":
				if hasOld || !d.object(&d.olds, false) {
					return false
				}
				hasOld = true
			case "headers":
				if hasHeaders || !d.headers(&m.Headers) {
					return false
				}
				hasHeaders = true
			default:
				return false
			}
			if !d.next() {
				break
			}
		}
		if !d.byte('}') {
			return false
		}
	}

	// Every string the message keeps is a slice of one allocation.
	arena := string(d.buf)
	str := func(i int) string { return arena[d.strs[i].start:d.strs[i].end] }
	if d.hasStr[strKey] {
		m.Key = str(strKey)
	}
	if d.hasStr[strLSN] {
		m.Headers.LSN = str(strLSN)
	}
	if d.hasStr[strGlobalLSN] {
		m.Headers.GlobalLastSeenLSN = str(strGlobalLSN)
	}
	if d.hasStr[strXmin] {
		m.Headers.Xmin = str(strXmin)
	}
	if d.hasStr[strXmax] {
		m.Headers.Xmax = str(strXmax)
	}
	if d.hasStr[strKeyChangeTo] {
		m.Headers.KeyChangeTo = str(strKeyChangeTo)
	}
	if d.hasStr[strKeyChangeFrom] {
		m.Headers.KeyChangeFrom = str(strKeyChangeFrom)
	}
	if m.Headers.XipList != nil {
		for i, s := range d.xip {
			m.Headers.XipList[i] = arena[s.start:s.end]
		}
	}
	// The relation and the strings the value maps point to share one
	// allocation.
	var strs []string
	if n := len(d.vals) + len(d.olds) + len(d.rel); n > 0 || d.hasRel {
		strs = make([]string, n)
	}
	if d.hasRel {
		n := copy(strs, d.rel)
		m.Headers.Relation = strs[:n:n]
		strs = strs[n:]
	}
	if hasValue {
		m.Value = valueMap(arena, d.vals, strs[:len(d.vals)])
	}
	if hasOld {
		m.OldValue = valueMap(arena, d.olds, strs[len(d.vals):])
	}
	return true
}

// valueMap builds a value map from its entries; ptrs holds the strings the
// map's pointers point to.
func valueMap(arena string, entries []entry, ptrs []string) map[string]*string {
	m := make(map[string]*string, len(entries))
	for i, e := range entries {
		if e.null {
			m[e.name] = nil
			continue
		}
		ptrs[i] = arena[e.val.start:e.val.end]
		m[e.name] = &ptrs[i]
	}
	return m
}

// object decodes a value map: an object whose values are strings or null.
// Names are interned; names says whether to follow the column order of
// the previous value map, which rows of one shape share.
func (d *decoder) object(entries *[]entry, byPosition bool) bool {
	d.ws()
	if !d.byte('{') {
		return false
	}
	d.ws()
	if d.byte('}') {
		return true
	}
	for i := 0; ; i++ {
		start := len(d.buf)
		if !d.byte('"') || !d.str() {
			return false
		}
		raw := d.buf[start:]
		var name string
		if byPosition {
			name = d.internAt(&d.lastNames, i, raw)
		} else {
			name = d.intern(raw)
		}
		d.buf = d.buf[:start]
		d.ws()
		if !d.byte(':') {
			return false
		}
		d.ws()
		e := entry{name: name}
		switch {
		case d.literal("null"):
			e.null = true
		case d.byte('"'):
			e.val.start = len(d.buf)
			if !d.str() {
				return false
			}
			e.val.end = len(d.buf)
		default:
			return false
		}
		*entries = append(*entries, e)
		if !d.next() {
			return d.byte('}')
		}
	}
}

// headers decodes a message's headers object.
func (d *decoder) headers(h *protocol.Headers) bool {
	d.ws()
	if !d.byte('{') {
		return false
	}
	d.ws()
	if d.byte('}') {
		return true
	}
	var seen uint32
	for {
		name, ok := d.key()
		if !ok {
			return false
		}
		var bit uint32
		switch string(name) {
		case "operation":
			bit = 1 << 0
			ok = d.operation(h)
		case "relation":
			bit = 1 << 1
			ok = d.relation()
		case "control":
			bit = 1 << 2
			var s string
			if s, ok = d.internedString(); ok {
				h.Control = s
			}
		case "lsn":
			bit = 1 << 3
			ok = d.strAt(strLSN)
		case "op_position":
			bit = 1 << 4
			var n uint64
			if n, ok = d.uint(); ok {
				h.OpPosition = &n
			}
		case "txids":
			bit = 1 << 5
			ok = d.uints(&h.Txids)
		case "last":
			bit = 1 << 6
			switch {
			case d.literal("true"):
				h.Last = true
			case d.literal("false"):
				h.Last = false
			default:
				ok = false
			}
		case "key_change_to":
			bit = 1 << 7
			ok = d.strAt(strKeyChangeTo)
		case "key_change_from":
			bit = 1 << 12
			ok = d.strAt(strKeyChangeFrom)
		case "global_last_seen_lsn":
			bit = 1 << 8
			ok = d.strAt(strGlobalLSN)
		case "xmin":
			bit = 1 << 9
			ok = d.strAt(strXmin)
		case "xmax":
			bit = 1 << 10
			ok = d.strAt(strXmax)
		case "xip_list":
			bit = 1 << 11
			ok = d.spans(&h.XipList)
		default:
			return false
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		if !d.next() {
			return d.byte('}')
		}
	}
}

// operation decodes headers.operation.
func (d *decoder) operation(h *protocol.Headers) bool {
	start := len(d.buf)
	if !d.byte('"') || !d.str() {
		return false
	}
	op := d.buf[start:]
	d.buf = d.buf[:start]
	switch string(op) {
	case string(protocol.OperationInsert):
		h.Operation = protocol.OperationInsert
	case string(protocol.OperationUpdate):
		h.Operation = protocol.OperationUpdate
	case string(protocol.OperationDelete):
		h.Operation = protocol.OperationDelete
	default:
		return false // not a message checkMessage accepts
	}
	return true
}

// internAt returns raw interned, reusing (*cache)[i] when it holds the
// same text: names come in the same order message after message, so the
// i-th name is usually the one seen at i last time. It remembers the name
// at i for the next message.
func (d *decoder) internAt(cache *[]string, i int, raw []byte) string {
	c := *cache
	if i < len(c) && c[i] == string(raw) {
		return c[i]
	}
	s := d.intern(raw)
	if i < len(c) {
		c[i] = s
	} else if i == len(c) && i < maxInterned {
		*cache = append(c, s)
	}
	return s
}

// relation decodes headers.relation, an array of strings, into d.rel,
// interned: every message of a shape names the same relation.
func (d *decoder) relation() bool {
	if !d.byte('[') {
		return false
	}
	d.hasRel = true
	d.ws()
	if d.byte(']') {
		return true
	}
	for i := 0; ; i++ {
		start := len(d.buf)
		if !d.byte('"') || !d.str() {
			return false
		}
		raw := d.buf[start:]
		s := d.internAt(&d.lastRel, i, raw)
		d.buf = d.buf[:start]
		d.rel = append(d.rel, s)
		if !d.next() {
			return d.byte(']')
		}
	}
}

// uints decodes an array of unsigned integers.
func (d *decoder) uints(dst *[]uint64) bool {
	if !d.byte('[') {
		return false
	}
	out := make([]uint64, 0, 1)
	d.ws()
	if d.byte(']') {
		*dst = out
		return true
	}
	for {
		n, ok := d.uint()
		if !ok {
			return false
		}
		out = append(out, n)
		if !d.next() {
			if !d.byte(']') {
				return false
			}
			*dst = out
			return true
		}
	}
}

// spans decodes an array of strings into d.xip, and makes *dst a slice of
// as many strings, filled in once the message is complete.
func (d *decoder) spans(dst *[]string) bool {
	if !d.byte('[') {
		return false
	}
	d.ws()
	if !d.byte(']') {
		for {
			if !d.byte('"') {
				return false
			}
			s := span{start: len(d.buf)}
			if !d.str() {
				return false
			}
			s.end = len(d.buf)
			d.xip = append(d.xip, s)
			if !d.next() {
				if !d.byte(']') {
					return false
				}
				break
			}
		}
	}
	*dst = make([]string, len(d.xip))
	return true
}

// key decodes an object member's name and the colon after it. The name
// is only valid until the next string is decoded.
func (d *decoder) key() ([]byte, bool) {
	start := len(d.buf)
	if !d.byte('"') || !d.str() {
		return nil, false
	}
	name := d.buf[start:]
	d.buf = d.buf[:start]
	d.ws()
	if !d.byte(':') {
		return nil, false
	}
	d.ws()
	return name, true
}

// strAt decodes a string into buf and records its span as strs[i].
func (d *decoder) strAt(i int) bool {
	if !d.byte('"') {
		return false
	}
	s := span{start: len(d.buf)}
	if !d.str() {
		return false
	}
	s.end = len(d.buf)
	d.strs[i], d.hasStr[i] = s, true
	return true
}

// internedString decodes a string and returns it interned.
func (d *decoder) internedString() (string, bool) {
	start := len(d.buf)
	if !d.byte('"') || !d.str() {
		return "", false
	}
	s := d.intern(d.buf[start:])
	d.buf = d.buf[:start]
	return s, true
}

// intern returns b as a string, the same one for equal bytes.
func (d *decoder) intern(b []byte) string {
	if s, ok := d.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.names == nil {
		d.names = make(map[string]string)
	}
	if len(d.names) < maxInterned {
		d.names[s] = s
	}
	return s
}

// uint decodes a JSON number that is an unsigned 64-bit integer.
func (d *decoder) uint() (uint64, bool) {
	start := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
	}
	digits := d.data[start:d.pos]
	if len(digits) == 0 || (digits[0] == '0' && len(digits) > 1) {
		return 0, false
	}
	if d.pos < len(d.data) {
		switch d.data[d.pos] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	var n uint64
	for _, c := range digits {
		if n > (math.MaxUint64-9)/10 {
			// Near overflow: let strconv decide, as encoding/json does.
			v, err := strconv.ParseUint(string(digits), 10, 64)
			return v, err == nil
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// next skips the separator after an object member or array element: it
// returns true after a comma, false when the container ends (the closing
// bracket is left for the caller).
func (d *decoder) next() bool {
	d.ws()
	if d.byte(',') {
		d.ws()
		return true
	}
	return false
}

// byte consumes c if it is next.
func (d *decoder) byte(c byte) bool {
	if d.pos < len(d.data) && d.data[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

// literal consumes lit if it is next.
func (d *decoder) literal(lit string) bool {
	if len(d.data)-d.pos >= len(lit) && string(d.data[d.pos:d.pos+len(lit)]) == lit {
		d.pos += len(lit)
		return true
	}
	return false
}

// ws skips JSON whitespace.
func (d *decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// plain marks the bytes a JSON string holds as they are: not the closing
// quote, not a backslash, not a control character, not part of a
// multi-byte character.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str decodes the rest of a JSON string (its opening quote consumed) and
// appends its unescaped bytes to buf, as encoding/json unescapes them:
// invalid UTF-8 and lone surrogates become U+FFFD.
func (d *decoder) str() bool {
	data := d.data
	i := d.pos
	for {
		start := i
		for i < len(data) && plain[data[i]] {
			i++
		}
		d.buf = append(d.buf, data[start:i]...)
		if i >= len(data) {
			return false
		}
		switch c := data[i]; {
		case c == '"':
			d.pos = i + 1
			return true
		case c == '\\':
			if i+1 >= len(data) {
				return false
			}
			switch data[i+1] {
			case '"', '\\', '/':
				d.buf = append(d.buf, data[i+1])
			case 'b':
				d.buf = append(d.buf, '\b')
			case 'f':
				d.buf = append(d.buf, '\f')
			case 'n':
				d.buf = append(d.buf, '\n')
			case 'r':
				d.buf = append(d.buf, '\r')
			case 't':
				d.buf = append(d.buf, '\t')
			case 'u':
				r := hex4(data[i+2:])
				if r < 0 {
					return false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if r2 := hex4u(data[i:]); r2 >= 0 {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							d.buf = utf8.AppendRune(d.buf, dec)
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				d.buf = utf8.AppendRune(d.buf, r)
				continue
			default:
				return false
			}
			i += 2
		case c < 0x20:
			return false
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				d.buf = utf8.AppendRune(d.buf, r)
			} else {
				d.buf = append(d.buf, data[i:i+size]...)
			}
			i += size
		}
	}
}

// hex4 decodes the four hex digits at the start of b, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// hex4u decodes a \uXXXX escape at the start of b, or returns -1.
func hex4u(b []byte) rune {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1
	}
	return hex4(b[2:])
}
