package feed_test

import (
	"bytes"
	"testing"

	"github.com/computescale/computescale/feed"
)

// Both fuzz targets hold ReadShipments to what the ingest command relies on
// for any input whatsoever: it returns (never panics), an error never comes
// with records, and every record is non-nil and carries the line it came
// from, within the input's lines and in file order (ingest reports rejected
// batches by these lines). Seed corpora: testdata/fuzz/<target>/.

func FuzzReadShipmentsCSV(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) { checkShipments(t, in, feed.CSV) })
}

func FuzzReadShipmentsJSONLines(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) { checkShipments(t, in, feed.JSONLines) })
}

func checkShipments(t *testing.T, in []byte, format feed.Format) {
	ships, err := feed.ReadShipments(bytes.NewReader(in), format)
	if err != nil {
		if ships != nil {
			t.Fatalf("error %v came with %d records", err, len(ships))
		}
		return
	}
	lines := bytes.Count(in, []byte("\n")) + 1
	prev := 0
	for i, s := range ships {
		if s.Record == nil {
			t.Fatalf("record %d (line %d) is nil", i, s.Line)
		}
		if s.Line < 1 || s.Line > lines {
			t.Fatalf("record %d: line %d is outside the input's lines 1..%d", i, s.Line, lines)
		}
		if s.Line <= prev {
			t.Fatalf("record %d: line %d does not follow line %d", i, s.Line, prev)
		}
		prev = s.Line
	}
}
