package catalog

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ParseError reports a bad cell of a catalog file, by line and column
// (both 1-based, as an editor shows them) and the column's name.
type ParseError struct {
	Line   int
	Column int
	Field  string // the column's header name, "" if the error is not about one column
	Err    error
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d, column %d: %v", e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("line %d, column %d (%s): %v", e.Line, e.Column, e.Field, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// table reads a CSV file whose first non-comment record is a header that must
// list exactly the expected columns, in order. Lines starting with '#' are
// comments.
type table struct {
	r      *csv.Reader
	header []string
	row    []string
}

func newTable(r io.Reader, header []string) (*table, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = len(header)
	t := &table{r: cr, header: header}
	got, err := cr.Read()
	if err == io.EOF {
		return nil, &ParseError{Line: 1, Column: 1, Err: errors.New("the file has no header row")}
	}
	if err != nil {
		return nil, t.readError(err)
	}
	if !slices.Equal(got, header) {
		line, _ := cr.FieldPos(0)
		return nil, &ParseError{Line: line, Column: 1,
			Err: fmt.Errorf("header is %q, want %q", strings.Join(got, ","), strings.Join(header, ","))}
	}
	return t, nil
}

// next reads the next row; it returns false at the end of the file.
func (t *table) next() (bool, error) {
	row, err := t.r.Read()
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, t.readError(err)
	}
	t.row = row
	return true, nil
}

// cell returns the current row's value in the named column, trimmed.
func (t *table) cell(name string) string {
	return strings.TrimSpace(t.row[t.col(name)])
}

// errorf returns a ParseError at the current row's cell in the named column.
func (t *table) errorf(name, format string, args ...any) error {
	line, col := t.r.FieldPos(t.col(name))
	return &ParseError{Line: line, Column: col, Field: name, Err: fmt.Errorf(format, args...)}
}

func (t *table) col(name string) int {
	i := slices.Index(t.header, name)
	if i < 0 {
		panic("catalog: no column " + name) // a bug in this package, not in the data
	}
	return i
}

// readError turns encoding/csv's errors (which already carry a position)
// into a ParseError.
func (t *table) readError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{Line: pe.Line, Column: pe.Column, Err: pe.Err}
	}
	return &ParseError{Line: 1, Column: 1, Err: err}
}

// parseRows reads a catalog file: a row at a time through row, refusing an
// id listed twice (what names the thing, e.g. "chip", goes in the message).
func parseRows[T any](r io.Reader, header []string, what string, row func(*table) (T, error), id func(T) string) ([]T, error) {
	t, err := newTable(r, header)
	if err != nil {
		return nil, err
	}
	var out []T
	seen := map[string]bool{}
	for {
		ok, err := t.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		v, err := row(t)
		if err != nil {
			return nil, err
		}
		if seen[id(v)] {
			return nil, t.errorf("id", "%s id %q is listed twice", what, id(v))
		}
		seen[id(v)] = true
		out = append(out, v)
	}
}
