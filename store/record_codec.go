package store

import (
	"encoding/binary"
	"fmt"

	"github.com/computescale/computescale/estimator"
)

// recordVersion is the first byte of every record value (layout.go).
const recordVersion = 1

// Component forms in a record's content.
const (
	formCatalog = 1
	formInline  = 2
)

// contributionLen is the encoded size of one stored contribution.
const contributionLen = 1 + 3 + 3*8

// encodeFramedContent starts r's record value with its canonical content
// (equal records give equal bytes, which is how an identical resend is
// recognised), with room for room contributions, in one allocation of the
// right size: the ingest path encodes every record of every batch.
func encodeFramedContent(r *estimator.Record, room int) ([]byte, error) {
	e := &encoder{buf: make([]byte, 5, 5+contentSize(r)+2+contributionLen*room)}
	e.buf[0] = recordVersion
	if err := encodeContentTo(e, r); err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint32(e.buf[1:5], uint32(len(e.buf)-5))
	return e.buf, nil
}

// contentSize is the length encodeContentTo gives r.
func contentSize(r *estimator.Record) int {
	const str, period = 4, 3
	n := str + len(r.ID) + 4 + period + 1 + 8 + 8 + period + str + len(r.Note) + 2
	for _, c := range r.Components {
		n += 4 + 1
		if s := c.Inline; s != nil {
			n += str + len(s.ID) + str + len(s.Vendor) + str + len(s.Model) + 1 + 4 + 8 + str + len(s.Source) + 1 + 17*len(s.Rates)
		} else {
			n += str + len(c.ChipID)
		}
	}
	return n
}

func encodeContentTo(e *encoder, r *estimator.Record) error {
	e.str(r.ID)
	e.u32(r.Province)
	e.period(r.Period)
	e.u8(uint8(r.Class))
	e.i64(r.Units)
	e.f64(r.RpeakFP64)
	e.period(r.Decommissioned)
	e.str(r.Note)
	e.count(len(r.Components), 2)
	for _, c := range r.Components {
		e.u32(c.Count)
		if c.Inline != nil {
			e.u8(formInline)
			encodeSpec(e, c.Inline)
		} else {
			e.u8(formCatalog)
			e.str(c.ChipID)
		}
	}
	if e.err != nil {
		return estimator.Invalid("record cannot be stored", []estimator.FieldViolation{{Description: e.err.Error()}})
	}
	return nil
}

func encodeSpec(e *encoder, s *estimator.ChipSpec) {
	e.str(s.ID)
	e.str(s.Vendor)
	e.str(s.Model)
	e.u8(uint8(s.Kind))
	e.u32(s.Cores)
	e.u64(s.ClockHz)
	e.str(s.Source)
	e.count(len(s.Rates), 1)
	for _, r := range s.Rates {
		e.u8(uint8(r.Precision))
		e.f64(r.FlopsPerCycle)
		e.f64(r.PeakFLOPS)
	}
}

// encodeRecordValue frames content and contributions as a record value. It
// always returns a fresh slice: bbolt keeps a reference to a Put value until
// the transaction ends, so values are never reused buffers.
func encodeRecordValue(content []byte, cs []estimator.Contribution) ([]byte, error) {
	return appendContributions(framedContent(content, len(cs)), cs)
}

// framedContent starts a record value with content, with room for n
// contributions to be appended without copying.
func framedContent(content []byte, n int) []byte {
	buf := make([]byte, 0, 1+4+len(content)+2+contributionLen*n)
	buf = append(buf, recordVersion)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(content)))
	return append(buf, content...)
}

// appendContributions ends a record value that framedContent started.
func appendContributions(buf []byte, cs []estimator.Contribution) ([]byte, error) {
	e := &encoder{buf: buf}
	e.count(len(cs), 2)
	for _, c := range cs {
		e.u8(uint8(c.Series))
		e.period(c.Period)
		e.i64(c.MFLOPS)
		e.i64(c.Units)
		e.i64(c.Records)
	}
	return e.buf, e.err
}

// splitRecordValue returns the content and contribution parts of a record
// value. Both borrow v.
func splitRecordValue(v []byte) (content, contributions []byte, err error) {
	if len(v) < 5 || v[0] != recordVersion {
		return nil, nil, fmt.Errorf("store: record value has unknown version or is truncated")
	}
	n := binary.BigEndian.Uint32(v[1:5])
	if uint64(len(v)-5) < uint64(n) {
		return nil, nil, errTruncated
	}
	return v[5 : 5+n], v[5+n:], nil
}

// decodeRecordValue decodes a whole record value into fresh memory.
func decodeRecordValue(v []byte) (estimator.Record, []estimator.Contribution, error) {
	content, contribs, err := splitRecordValue(v)
	if err != nil {
		return estimator.Record{}, nil, err
	}
	r, err := decodeContent(content)
	if err != nil {
		return estimator.Record{}, nil, err
	}
	cs, err := decodeContributions(contribs)
	return r, cs, err
}

func decodeContent(b []byte) (estimator.Record, error) {
	d := &decoder{b: b}
	r := estimator.Record{ID: d.str(), Province: d.u32(), Period: d.period()}
	r.Class = estimator.ServerClass(d.u8())
	r.Units = d.i64()
	r.RpeakFP64 = d.f64()
	r.Decommissioned = d.period()
	r.Note = d.str()
	if n := int(d.u16()); n > 0 && d.err == nil {
		r.Components = make([]estimator.Component, n)
		for i := range r.Components {
			r.Components[i] = decodeComponent(d)
		}
	}
	return r, d.done()
}

func decodeComponent(d *decoder) estimator.Component {
	c := estimator.Component{Count: d.u32()}
	switch form := d.u8(); form {
	case formCatalog:
		c.ChipID = d.str()
	case formInline:
		s := decodeSpec(d)
		c.Inline = &s
	default:
		if d.err == nil {
			d.err = fmt.Errorf("store: unknown component form %d", form)
		}
	}
	return c
}

func decodeSpec(d *decoder) estimator.ChipSpec {
	s := estimator.ChipSpec{ID: d.str(), Vendor: d.str(), Model: d.str()}
	s.Kind = estimator.ChipKind(d.u8())
	s.Cores = d.u32()
	s.ClockHz = d.u64()
	s.Source = d.str()
	if n := int(d.u8()); n > 0 && d.err == nil {
		s.Rates = make([]estimator.Rate, n)
		for i := range s.Rates {
			s.Rates[i] = estimator.Rate{Precision: estimator.Precision(d.u8()), FlopsPerCycle: d.f64(), PeakFLOPS: d.f64()}
		}
	}
	return s
}

func decodeContributions(b []byte) ([]estimator.Contribution, error) {
	d := &decoder{b: b}
	n := int(d.u16())
	if d.err == nil && len(d.b) != n*contributionLen {
		return nil, fmt.Errorf("store: record has %d contribution bytes, want %d", len(d.b), n*contributionLen)
	}
	cs := make([]estimator.Contribution, n)
	for i := range cs {
		cs[i] = estimator.Contribution{Series: estimator.Series(d.u8()), Period: d.period()}
		cs[i].Amount = estimator.Amount{MFLOPS: d.i64(), Units: d.i64(), Records: d.i64()}
	}
	return cs, d.done()
}
