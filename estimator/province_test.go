package estimator_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/computescale/computescale/estimator"
)

func TestLookupProvince(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want uint32 // 0: not found
	}{
		{"GBCode", "440000", 440000},
		{"ISO", "CN-GD", 440000},
		{"ISOLower", "cn-gd", 440000},
		{"PinyinLower", "guangdong", 440000},
		{"Chinese", "广东", 440000},
		{"PinyinWithSpace", "inner mongolia", 150000},
		{"PinyinJoined", "InnerMongolia", 150000},
		{"Xizang", "Xizang", 540000},
		{"Padded", "  310000 ", 310000},
		{"ErrEmpty", "", 0},
		{"ErrBlank", "   ", 0},
		{"ErrUnknownCode", "999999", 0},
		{"ErrHongKong", "Hong Kong", 0},
		{"ErrHongKongISO", "CN-HK", 0},
		{"ErrNegative", "-440000", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := estimator.LookupProvince(tt.in)
			if ok != (tt.want != 0) || p.Code != tt.want {
				t.Errorf("LookupProvince(%q) = %+v, %v; want code %d", tt.in, p, ok, tt.want)
			}
		})
	}
}

func TestProvinces(t *testing.T) {
	ps := estimator.Provinces()
	if len(ps) != 31 || estimator.NumProvinces != 31 {
		t.Fatalf("len = %d, NumProvinces = %d, want 31", len(ps), estimator.NumProvinces)
	}
	for i := 1; i < len(ps); i++ {
		if ps[i-1].Code >= ps[i].Code {
			t.Errorf("not in code order at %d: %d, %d", i, ps[i-1].Code, ps[i].Code)
		}
	}
	ps[0].Name = "changed"
	if p, _ := estimator.ProvinceByCode(110000); p.Name != "Beijing" {
		t.Errorf("Provinces returned the package's own array")
	}
}

func TestErrorCode(t *testing.T) {
	inv := estimator.Invalid("bad", []estimator.FieldViolation{{Field: "units", Description: "too many"}})
	tests := []struct {
		name string
		err  error
		want estimator.Code
	}{
		{"Nil", nil, ""},
		{"Direct", estimator.Errorf(estimator.ENotFound, "no chip"), estimator.ENotFound},
		{"Wrapped", fmt.Errorf("ingest: %w", estimator.Errorf(estimator.EResourceExhausted, "full")), estimator.EResourceExhausted},
		{"DoubleWrapped", fmt.Errorf("a: %w", fmt.Errorf("b: %w", inv)), estimator.EInvalid},
		{"Other", errors.New("disk on fire"), estimator.EInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := estimator.ErrorCode(tt.err); got != tt.want {
				t.Errorf("ErrorCode = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"Plain", estimator.Errorf(estimator.EInvalid, "bad %s", "thing"), "bad thing"},
		{"OneViolation", estimator.Invalid("bad record", []estimator.FieldViolation{{"units", "too many"}}), "bad record (units: too many)"},
		{"TwoViolations", estimator.Invalid("bad record", []estimator.FieldViolation{{"units", "too many"}, {"note", "long"}}),
			"bad record (units: too many; and 1 more)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
	if estimator.Invalid("x", nil) != nil {
		t.Error("Invalid with no violations is not nil")
	}
	got := estimator.Prefix("records[3].", []estimator.FieldViolation{{"units", "d"}})
	if got[0].Field != "records[3].units" {
		t.Errorf("Prefix = %v", got)
	}
}
