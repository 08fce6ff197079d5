package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/rivo/uniseg"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Every read command prints in one of three forms, chosen with -o as in
// etcdctl: a table aligned for the terminal (the default), the response in
// the protobuf JSON mapping (what a script should parse: full precision,
// field names of the API), or CSV of the table's columns (for a
// spreadsheet).
const (
	outTable = "table"
	outJSON  = "json"
	outCSV   = "csv"
)

// outputFlag is -o/--output with --json kept as an alias of -o json.
type outputFlag struct {
	format string
	json   bool
}

func (o *outputFlag) register(fs *pflag.FlagSet) {
	fs.StringVarP(&o.format, "output", "o", outTable, "output format: table, json or csv")
	fs.BoolVar(&o.json, "json", false, "same as -o json")
}

// get returns the chosen format, or an error naming the choices.
func (o *outputFlag) get() (string, error) {
	f := strings.ToLower(strings.TrimSpace(o.format))
	switch {
	case o.json && f != outTable && f != outJSON:
		return "", fmt.Errorf("--json and -o %s contradict each other", o.format)
	case o.json:
		return outJSON, nil
	case f == outTable || f == outJSON || f == outCSV:
		return f, nil
	}
	return "", fmt.Errorf("-o %q: want table, json or csv", o.format)
}

// view is what a read command has to print: the response (for JSON), a
// table (for CSV, and the body of the terminal form) with lines above and
// below it in the terminal form only, or, for output that is not one table,
// a text function that replaces head, table and foot in the terminal form.
type view struct {
	msg  proto.Message
	tab  *table
	head []string
	foot []string
	text func(io.Writer)
}

func (v view) write(w io.Writer, format string) error {
	switch format {
	case outJSON:
		return writeJSON(w, v.msg)
	case outCSV:
		if v.tab == nil {
			return fmt.Errorf("this command has no CSV form: use -o table or -o json")
		}
		return v.tab.writeCSV(w)
	}
	if v.text != nil {
		v.text(w)
		return nil
	}
	for _, l := range v.head {
		fmt.Fprintln(w, l)
	}
	if v.tab != nil {
		v.tab.writeText(w)
	}
	for _, l := range v.foot {
		fmt.Fprintln(w, l)
	}
	return nil
}

func writeJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// column is one column of a table.
type column struct {
	name string
	// right aligns the column right in the terminal (numbers).
	right bool
	// termOnly columns (bars) are drawn in the terminal only, not in CSV.
	termOnly bool
}

// table is the one table writer of every command: columns aligned by
// display width, so that the provinces' Chinese names (two cells a
// character) line up, and the same cells as CSV.
type table struct {
	cols []column
	rows [][]string
}

func newTable(cols ...column) *table { return &table{cols: cols} }

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) cell(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}

// writeText writes the header and rows, columns two cells apart, with no
// trailing blanks.
func (t *table) writeText(w io.Writer) {
	widths := make([]int, len(t.cols))
	for i, c := range t.cols {
		widths[i] = displayWidth(c.name)
		for _, r := range t.rows {
			widths[i] = max(widths[i], displayWidth(t.cell(r, i)))
		}
	}
	line := func(cells func(int) string) {
		var b strings.Builder
		for i, c := range t.cols {
			if i > 0 {
				b.WriteString("  ")
			}
			s := cells(i)
			fill := strings.Repeat(" ", max(0, widths[i]-displayWidth(s)))
			if c.right {
				b.WriteString(fill + s)
			} else {
				b.WriteString(s + fill)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(func(i int) string { return t.cols[i].name })
	for _, r := range t.rows {
		line(func(i int) string { return t.cell(r, i) })
	}
}

func (t *table) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	var keep []int
	for i, c := range t.cols {
		if !c.termOnly {
			keep = append(keep, i)
		}
	}
	rec := make([]string, len(keep))
	for j, i := range keep {
		rec[j] = t.cols[i].name
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	for _, r := range t.rows {
		for j, i := range keep {
			rec[j] = t.cell(r, i)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// displayWidth is the number of terminal cells s takes (Unicode's East Asian
// width: two for the provinces' Chinese names, one for Latin and for the
// box-drawing bars), the one width every table of the CLI aligns by.
func displayWidth(s string) int { return uniseg.StringWidth(s) }

// padRight fills s with blanks to width terminal cells, for the lines that
// are not a table (watch's stream of events).
func padRight(s string, width int) string {
	return s + strings.Repeat(" ", max(0, width-displayWidth(s)))
}
