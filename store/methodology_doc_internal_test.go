package store

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/computescale/computescale/estimator"
)

// TestMethodologyDocPlausibility: a version stored before plausibility
// bounds existed decodes to the defaults (factor 10, no ranges), and the
// bounds round-trip through the stored form.
func TestMethodologyDocPlausibility(t *testing.T) {
	old, err := encodeMethodology(estimator.DefaultMethodology())
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(old, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["plausibility"]; ok {
		t.Fatalf("default bounds were written out: %s", old)
	}
	m, err := decodeMethodology(old)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Plausibility.GrowthFactor(); got != estimator.DefaultMaxGrowthFactor || m.Plausibility.Ranges != nil {
		t.Errorf("old version decodes to factor %g ranges %v, want the defaults", got, m.Plausibility.Ranges)
	}
	want := estimator.Plausibility{MaxGrowthFactor: 4, Ranges: map[string]estimator.Range{
		"env.open_data": {Min: 0, Max: 100},
		"tech.rnd":      {GrowthFactor: 2},
	}}
	m.Plausibility = want
	b, err := encodeMethodology(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeMethodology(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Plausibility, want) {
		t.Errorf("round trip: %+v, want %+v", back.Plausibility, want)
	}
}
