package feed

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// ObservationLine is an observation and the line of the file it was read
// from.
type ObservationLine struct {
	Line        int
	Observation *pb.Observation
}

// ReadObservations parses a whole observation feed (columns in the package
// comment). An error names the line (and column). Values are parsed, not
// judged: an unknown indicator or a negative value is the server's to reject,
// by line, like any other invalid observation.
func ReadObservations(r io.Reader, f Format) ([]ObservationLine, error) {
	switch f {
	case CSV:
		return readObservationsCSV(r)
	case JSONLines:
		return readObservationsJSON(r)
	}
	return nil, fmt.Errorf("unknown feed format %d", f)
}

func readObservationsJSON(r io.Reader) ([]ObservationLine, error) {
	var out []ObservationLine
	err := eachJSONLine(r, func(n int, line []byte) error {
		o := &pb.Observation{}
		if err := protojson.Unmarshal(line, o); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, ObservationLine{Line: n, Observation: o})
		return nil
	})
	return out, err
}

// eachJSONLine calls fn with every line that is neither blank nor a comment.
func eachJSONLine(r io.Reader, fn func(n int, line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(n, []byte(line)); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read feed: %w", err)
	}
	return nil
}

var observationColumns = []string{"province", "year", "indicator", "value", "unit", "source"}

func readObservationsCSV(r io.Reader) ([]ObservationLine, error) {
	var out []ObservationLine
	err := eachCSVRow(r, observationColumns, observationColumns[:5], func(line int, row []string, col map[string]int) error {
		o, err := csvObservation(row, col)
		out = append(out, ObservationLine{Line: line, Observation: o})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readHeader reads the header row: names from known, in any order and any
// case, with every name of required present.
func readHeader(cr *csv.Reader, known, required []string) (map[string]int, error) {
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = normalizeColumn(h)
		if !contains(known, h) {
			return nil, fmt.Errorf("line 1, column %d: unknown column %q (known: %s)", i+1, h, strings.Join(known, ", "))
		}
		col[h] = i
	}
	for _, need := range required {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("line 1: missing column %q", need)
		}
	}
	return col, nil
}

func normalizeColumn(h string) string {
	return strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
}

func csvObservation(row []string, col map[string]int) (*pb.Observation, error) {
	get := func(name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	year, err := strconv.ParseInt(get("year"), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("column year: %q is not an integer", get("year"))
	}
	// ParseFloat takes NaN and Inf too: the server names them by line.
	value, err := strconv.ParseFloat(get("value"), 64)
	if err != nil {
		return nil, fmt.Errorf("column value: %q is not a number", get("value"))
	}
	return &pb.Observation{
		Province: get("province"), Year: int32(year), Indicator: get("indicator"),
		Value: value, Unit: get("unit"), Source: get("source"),
	}, nil
}
