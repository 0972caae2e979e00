package shapelog

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/galvani-sync/galvani/protocol"
)

// FlagLast marks the shape's last record of a transaction.
const FlagLast = 1

// headerSize is the size of a record's fixed header.
const headerSize = 4 + 4 + 8 + 8 + 1

// maxBody bounds a record body; larger lengths mean corruption.
const maxBody = 1 << 30

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record is one change-log entry.
type Record struct {
	Offset protocol.Offset
	Flags  byte
	Body   []byte
}

// AppendTo appends r's on-disk form to dst.
func (r Record) AppendTo(dst []byte) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(r.Body)))
	dst = binary.BigEndian.AppendUint32(dst, 0) // crc, filled below
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.Offset.Tx))
	dst = binary.BigEndian.AppendUint64(dst, r.Offset.Op)
	dst = append(dst, r.Flags)
	dst = append(dst, r.Body...)
	crc := crc32.Checksum(dst[start+8:], castagnoli)
	binary.BigEndian.PutUint32(dst[start+4:], crc)
	return dst
}

// header is a decoded record header.
type header struct {
	length uint32
	crc    uint32
	off    protocol.Offset
	flags  byte
}

func decodeHeader(b []byte) header {
	return header{
		length: binary.BigEndian.Uint32(b[0:]),
		crc:    binary.BigEndian.Uint32(b[4:]),
		off: protocol.Offset{
			Tx: int64(binary.BigEndian.Uint64(b[8:])),
			Op: binary.BigEndian.Uint64(b[16:]),
		},
		flags: b[24],
	}
}

// valid reports whether body matches the header's checksum.
func (h header) valid(hdr, body []byte) bool {
	crc := crc32.Update(0, castagnoli, hdr[8:headerSize])
	crc = crc32.Update(crc, castagnoli, body)
	return crc == h.crc
}
