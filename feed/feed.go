// Package feed reads feed files (CSV or JSON Lines) of two kinds, vendors'
// shipment records (ReadShipments) and statistics observations
// (ReadObservations), remembering the line each entry came from so that a
// rejected batch can be reported by line number. DetectKind tells the two
// kinds apart by the header or the first line's keys.
//
// # Shipments
//
// CSV: a header row naming the columns (any order, case-insensitive); unknown
// columns are an error so that a typo cannot silently drop data:
//
//	record_id              vendor-unique id (required)
//	province               440000, CN-GD, Guangdong or 广东 (required)
//	year, quarter          shipment period; quarter empty or 0 = whole year
//	class                  general, ai or super (or GENERAL_SERVER, AI_SERVER, SUPERCOMPUTER)
//	units                  units shipped (systems, for super)
//	components             per-unit chips as COUNT*CHIP_ID joined by ';', e.g. 2*intel-xeon-8480p;8*nvidia-h100-sxm
//	rpeak_fp64_flops       supercomputers: Rpeak in FLOP/s instead of components
//	decommissioned_year    supercomputers: year left service (optional)
//	decommissioned_quarter supercomputers: quarter left service (optional)
//	note                   free text
//
// JSON Lines: one computescale.v1.ShipmentRecord per line in the protobuf
// JSON mapping (e.g. {"recordId":"r1","province":"CN-GD","period":{"year":2024},
// "serverClass":"ai","units":"10","components":[{"count":8,
// "chipId":"nvidia-h100-sxm"}]}); serverClass takes the CSV's class names
// (general, ai, super) as well as the enum's (SERVER_CLASS_AI_SERVER). This
// is also the only way to give an inline chip spec. Blank lines and lines starting with # are skipped.
//
// # Observations
//
// One statistics value of one province in one year (METHOD.md section 4: the
// eleven observed index leaves, plus gdp and digital_economy_core). CSV
// columns, with the same header rules:
//
//	province   440000, CN-GD, Guangdong or 广东 (required)
//	year       the year the value is for (required)
//	indicator  e.g. industry.devices, tech.rnd, gdp (required)
//	value      a number, in the indicator's unit (required)
//	unit       the indicator's unit, e.g. 10^4 units, 10^8 CNY, Tbps (required)
//	source     where the value comes from (optional)
//
// for example
//
//	province,year,indicator,value,unit,source
//	Guangdong,2024,industry.devices,1187,10^4 units,广东统计年鉴 2025
//
// JSON Lines: one computescale.v1.Observation per line in the protobuf JSON
// mapping, e.g. {"province":"CN-GD","year":2024,"indicator":"tech.rnd",
// "value":1712.5,"unit":"10^8 CNY","source":"..."}. Units are checked by the
// server, never converted: a value in the wrong unit is rejected by line.
package feed

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// Format is a feed file format.
type Format int

// The formats.
const (
	CSV Format = iota + 1
	JSONLines
)

// FormatOf picks the format from a file name: .csv, or .jsonl / .ndjson / .json.
func FormatOf(name string) (Format, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return CSV, nil
	case ".jsonl", ".ndjson", ".json":
		return JSONLines, nil
	}
	return 0, fmt.Errorf("cannot tell the feed format of %q: use .csv or .jsonl", name)
}

// Shipment is a record and the line of the file it was read from.
type Shipment struct {
	Line   int
	Record *pb.ShipmentRecord
}

// ReadShipments parses a whole feed. An error names the line (and column).
func ReadShipments(r io.Reader, f Format) ([]Shipment, error) {
	switch f {
	case CSV:
		return readCSV(r)
	case JSONLines:
		return readJSONLines(r)
	}
	return nil, fmt.Errorf("unknown feed format %d", f)
}

// maxLine bounds one JSON line, so a corrupt file cannot exhaust memory.
const maxLine = 4 << 20

func readJSONLines(r io.Reader) ([]Shipment, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var out []Shipment
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rec, err := shipmentFromJSON([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, Shipment{Line: n, Record: rec})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read feed: %w", err)
	}
	return out, nil
}

var csvColumns = []string{"record_id", "province", "year", "quarter", "class", "units", "components",
	"rpeak_fp64_flops", "decommissioned_year", "decommissioned_quarter", "note"}

func readCSV(r io.Reader) ([]Shipment, error) {
	var out []Shipment
	err := eachCSVRow(r, csvColumns, []string{"record_id", "province", "year", "class", "units"},
		func(line int, row []string, col map[string]int) error {
			rec, err := csvRecord(row, col)
			out = append(out, Shipment{Line: line, Record: rec})
			return err
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachCSVRow reads a feed's header (names from known, in any order and case,
// every name of required present) and hands every row to fn with its line
// number; an error from fn is reported at that line. Comment lines (#) are
// skipped and rows may be ragged: missing trailing columns read as empty.
func eachCSVRow(r io.Reader, known, required []string, fn func(line int, row []string, col map[string]int) error) error {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	col, err := readHeader(cr, known, required)
	if err != nil {
		return err
	}
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if err := fn(line, row, col); err != nil {
			return fmt.Errorf("line %d, %w", line, err)
		}
	}
}

func csvRecord(row []string, col map[string]int) (*pb.ShipmentRecord, error) {
	get := func(name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	var err error
	num := func(name string, bitSize int) int64 {
		s := get(name)
		if s == "" || err != nil {
			return 0
		}
		v, perr := strconv.ParseInt(s, 10, bitSize)
		if perr != nil {
			err = fmt.Errorf("column %s: %q is not an integer", name, s)
		}
		return v
	}
	rec := &pb.ShipmentRecord{
		RecordId: get("record_id"), Province: get("province"),
		Period: &pb.Period{Year: int32(num("year", 32)), Quarter: int32(num("quarter", 32))},
		Units:  num("units", 64), Note: get("note"),
	}
	if y, q := num("decommissioned_year", 32), num("decommissioned_quarter", 32); y != 0 || q != 0 {
		rec.Decommissioned = &pb.Period{Year: int32(y), Quarter: int32(q)}
	}
	if err != nil {
		return nil, err
	}
	if rec.ServerClass, err = parseClass(get("class")); err != nil {
		return nil, err
	}
	if s := get("rpeak_fp64_flops"); s != "" {
		if rec.RpeakFp64Flops, err = strconv.ParseFloat(s, 64); err != nil {
			return nil, fmt.Errorf("column rpeak_fp64_flops: %q is not a number", s)
		}
	}
	if rec.Components, err = ParseComponents(get("components")); err != nil {
		return nil, fmt.Errorf("column components: %w", err)
	}
	return rec, nil
}

// shipmentFromJSON reads one JSON line. serverClass may also be one of the
// CSV's names (general, ai, super): the enum's own names are tried first, so
// a line that protojson reads as it is costs nothing more.
func shipmentFromJSON(line []byte) (*pb.ShipmentRecord, error) {
	rec := &pb.ShipmentRecord{}
	err := protojson.Unmarshal(line, rec)
	if err == nil {
		return rec, nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(line, &fields) != nil {
		return nil, err
	}
	renamed := false
	for _, key := range []string{"serverClass", "server_class"} {
		var name string
		if raw, ok := fields[key]; !ok || json.Unmarshal(raw, &name) != nil {
			continue
		}
		class, cerr := parseClass(name)
		if cerr != nil {
			return nil, fmt.Errorf("%s: %q is not general, ai or super (or %s)", key, name, strings.Join(classEnumNames(), ", "))
		}
		fields[key], _ = json.Marshal(class.String())
		renamed = true
	}
	if !renamed {
		return nil, err
	}
	fixed, merr := json.Marshal(fields)
	if merr != nil {
		return nil, err
	}
	if err := protojson.Unmarshal(fixed, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

func classEnumNames() []string {
	return []string{pb.ServerClass_SERVER_CLASS_GENERAL_SERVER.String(), pb.ServerClass_SERVER_CLASS_AI_SERVER.String(), pb.ServerClass_SERVER_CLASS_SUPERCOMPUTER.String()}
}

func parseClass(s string) (pb.ServerClass, error) {
	switch strings.ToLower(strings.TrimPrefix(strings.ToUpper(s), "SERVER_CLASS_")) {
	case "general", "general_server":
		return pb.ServerClass_SERVER_CLASS_GENERAL_SERVER, nil
	case "ai", "ai_server":
		return pb.ServerClass_SERVER_CLASS_AI_SERVER, nil
	case "super", "supercomputer":
		return pb.ServerClass_SERVER_CLASS_SUPERCOMPUTER, nil
	}
	return 0, fmt.Errorf("column class: %q is not general, ai or super", s)
}

// ParseComponents reads "2*intel-xeon-8480p;8*nvidia-h100-sxm" (a bare id
// means a count of 1).
func ParseComponents(s string) ([]*pb.Component, error) {
	var out []*pb.Component
	for part := range strings.SplitSeq(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		count, id := "1", part
		if c, rest, ok := strings.Cut(part, "*"); ok {
			count, id = strings.TrimSpace(c), strings.TrimSpace(rest)
		}
		n, err := strconv.ParseUint(count, 10, 32)
		if err != nil || id == "" {
			return nil, fmt.Errorf("%q is not COUNT*CHIP_ID", part)
		}
		out = append(out, &pb.Component{Count: uint32(n), Chip: &pb.Component_ChipId{ChipId: id}})
	}
	return out, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
