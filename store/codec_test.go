package store_test

import (
	"math/rand/v2"
	"testing"

	"github.com/computescale/computescale/store"
)

// TestContentSize: the ingest path sizes a record's value before encoding
// it; a wrong size would cost a copy (too small) or memory (too large).
func TestContentSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 500 {
		r := randomRecord(rng, "")
		if i%3 == 0 {
			r.Note = "a note of some length"
		}
		predicted, actual, err := store.ContentSizes(&r)
		if err != nil {
			t.Fatal(err)
		}
		if predicted != actual {
			t.Fatalf("record %+v: contentSize %d, encoded %d bytes", r, predicted, actual)
		}
	}
}
