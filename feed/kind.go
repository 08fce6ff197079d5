package feed

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Kind is what a feed carries.
type Kind int

// The kinds.
const (
	Shipments Kind = iota + 1
	Observations
)

func (k Kind) String() string {
	switch k {
	case Shipments:
		return "shipments"
	case Observations:
		return "observations"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// ParseKind reads "shipments" or "observations".
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "shipments", "shipment":
		return Shipments, nil
	case "observations", "observation":
		return Observations, nil
	}
	return 0, fmt.Errorf("unknown feed kind %q: want shipments or observations", s)
}

// DetectKind tells a shipment feed from an observation feed by its first
// row: a CSV header with an indicator column, or a JSON line with an
// "indicator" key, is observations; a record_id column or a "recordId" (or
// "record_id") key is shipments. It reads only as far as that row.
func DetectKind(r io.Reader, f Format) (Kind, error) {
	switch f {
	case CSV:
		return detectCSV(r)
	case JSONLines:
		return detectJSON(r)
	}
	return 0, fmt.Errorf("unknown feed format %d", f)
}

func detectCSV(r io.Reader) (Kind, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return 0, fmt.Errorf("read CSV header: %w", err)
	}
	cols := map[string]bool{}
	for _, h := range header {
		cols[normalizeColumn(h)] = true
	}
	return kindOf(cols["indicator"], cols["record_id"], "line 1: the header has neither an indicator nor a record_id column")
}

// errFound stops eachJSONLine after the first line.
var errFound = errors.New("found")

func detectJSON(r io.Reader) (Kind, error) {
	var keys map[string]json.RawMessage
	line := 0
	err := eachJSONLine(r, func(n int, b []byte) error {
		line = n
		if err := json.Unmarshal(b, &keys); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		return errFound
	})
	switch {
	case err == nil:
		return 0, errors.New("the feed has no line to tell its kind from")
	case !errors.Is(err, errFound):
		return 0, err
	}
	_, obs := keys["indicator"]
	_, recID := keys["recordId"]
	_, recID2 := keys["record_id"]
	return kindOf(obs, recID || recID2, fmt.Sprintf("line %d has neither an \"indicator\" nor a \"recordId\" key", line))
}

func kindOf(observations, shipments bool, neither string) (Kind, error) {
	switch {
	case observations && shipments:
		return 0, errors.New("cannot tell the feed kind: it has both indicator and record_id")
	case observations:
		return Observations, nil
	case shipments:
		return Shipments, nil
	}
	return 0, errors.New("cannot tell the feed kind: " + neither + "")
}
