package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/computescale/computescale/estimator"
)

// encoder appends big-endian fields to a buffer. The first problem sticks in
// err so that encoding code reads as a plain list of fields.
type encoder struct {
	buf []byte
	err error
}

func (e *encoder) u8(v uint8)    { e.buf = append(e.buf, v) }
func (e *encoder) u16(v uint16)  { e.buf = binary.BigEndian.AppendUint16(e.buf, v) }
func (e *encoder) u32(v uint32)  { e.buf = binary.BigEndian.AppendUint32(e.buf, v) }
func (e *encoder) u64(v uint64)  { e.buf = binary.BigEndian.AppendUint64(e.buf, v) }
func (e *encoder) i64(v int64)   { e.u64(uint64(v)) }
func (e *encoder) f64(v float64) { e.u64(math.Float64bits(v)) }

func (e *encoder) str(s string) {
	if uint64(len(s)) > math.MaxUint32 {
		e.fail("string of %d bytes is too long to store", len(s))
		return
	}
	e.u32(uint32(len(s)))
	e.buf = append(e.buf, s...)
}

// period writes a year and quarter in three bytes; a validated record's
// periods always fit, so an overflow is reported rather than truncated.
func (e *encoder) period(p estimator.Period) {
	if p.Year < 0 || p.Year > math.MaxUint16 || p.Quarter < 0 || p.Quarter > 4 {
		e.fail("period %d/%d does not fit the store's encoding", p.Year, p.Quarter)
		return
	}
	e.u16(uint16(p.Year))
	e.u8(uint8(p.Quarter))
}

// count writes a slice length in a field of the given width in bytes.
func (e *encoder) count(n, width int) {
	if n > 1<<(8*width)-1 {
		e.fail("%d items do not fit a %d-byte count", n, width)
		return
	}
	switch width {
	case 1:
		e.u8(uint8(n))
	default:
		e.u16(uint16(n))
	}
}

func (e *encoder) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf(format, args...)
	}
}

// errTruncated is what a decoder reports for a value shorter than its fields.
var errTruncated = errors.New("store: stored value is truncated")

// decoder reads what encoder wrote, with the same sticky error. Strings are
// copied out, so nothing it returns borrows the transaction's memory.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b) < n {
		d.err = errTruncated
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) u8() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if b := d.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) i64() int64   { return int64(d.u64()) }
func (d *decoder) f64() float64 { return math.Float64frombits(d.u64()) }
func (d *decoder) str() string  { return string(d.take(int(d.u32()))) }

func (d *decoder) period() estimator.Period {
	y := d.u16()
	return estimator.Period{Year: int(y), Quarter: int(d.u8())}
}

// done reports the sticky error, or trailing bytes that no field consumed.
func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("store: stored value has %d unexpected trailing bytes", len(d.b))
	}
	return d.err
}
