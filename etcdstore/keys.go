package etcdstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/computescale/computescale/estimator"
)

// Key layout under the prefix (P):
//
//	P r/<vendor>/<record id>            a vendor's shipment record
//	P c/<chip id>                       a chip spec
//	P o/<province>/<year>/<indicator>   a statistics observation
//	P m/<version, 20 digits>            a methodology version (2 on; 1 is the built-in default)
//	P stamp                             written by every transaction: its time and actor
//
// The vendor is path-escaped, so a vendor name can hold any character;
// record ids are printable ASCII and go as they are. Values are entries in
// JSON (Go's encoder writes float64 in the shortest form that parses back
// to the same bits, so a value round-trips exactly).
const (
	kindRecord      = "r/"
	kindChip        = "c/"
	kindObservation = "o/"
	kindMethodology = "m/"
	stampKey        = "stamp"
)

// entry is an etcd value: one of the payloads, with the writing node's time
// (which every node's view stamps on the change) and the actor.
type entry struct {
	Time  int64                  `json:"t,omitempty"`
	Actor string                 `json:"a,omitempty"`
	Force bool                   `json:"f,omitempty"` // observations: bounds skipped
	R     *estimator.Record      `json:"r,omitempty"`
	C     *estimator.ChipSpec    `json:"c,omitempty"`
	O     *estimator.Observation `json:"o,omitempty"`
	M     *estimator.Methodology `json:"m,omitempty"`
}

func (s *Store) recordKey(vendor, id string) string {
	return s.prefix + kindRecord + url.PathEscape(vendor) + "/" + id
}

func (s *Store) recordPrefix(vendor string) string {
	return s.prefix + kindRecord + url.PathEscape(vendor) + "/"
}

func (s *Store) chipKey(id string) string { return s.prefix + kindChip + id }

func (s *Store) observationKey(o *estimator.Observation) string {
	return fmt.Sprintf("%s%s%d/%d/%s", s.prefix, kindObservation, o.Province, o.Year, o.Indicator)
}

func (s *Store) methodologyKey(v uint64) string {
	return fmt.Sprintf("%s%s%020d", s.prefix, kindMethodology, v)
}

// parseRecordKey returns the vendor and record id of a record key.
func parseRecordKey(rest string) (vendor, id string, err error) {
	ev, id, ok := strings.Cut(rest, "/")
	if !ok {
		return "", "", fmt.Errorf("record key %q has no vendor", rest)
	}
	vendor, err = url.PathUnescape(ev)
	return vendor, id, err
}

func parseMethodologyVersion(rest string) (uint64, error) {
	return strconv.ParseUint(rest, 10, 64)
}

func encodeEntry(e entry) ([]byte, error) { return json.Marshal(e) }

func decodeEntry(b []byte) (entry, error) {
	var e entry
	if err := json.Unmarshal(b, &e); err != nil {
		return entry{}, fmt.Errorf("etcdstore: decode value: %w", err)
	}
	return e, nil
}

// samePayload says whether a stored entry holds exactly payload (compared in
// its JSON form, time and actor aside).
func samePayload(stored []byte, payload any) bool {
	e, err := decodeEntry(stored)
	if err != nil {
		return false
	}
	var old any
	switch payload.(type) {
	case *estimator.Record:
		old = e.R
	case *estimator.ChipSpec:
		old = e.C
	case *estimator.Observation:
		old = e.O
	default:
		return false
	}
	a, err1 := json.Marshal(old)
	b, err2 := json.Marshal(payload)
	return err1 == nil && err2 == nil && bytes.Equal(a, b)
}
