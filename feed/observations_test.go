package feed_test

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/computescale/computescale/feed"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

func TestReadObservations(t *testing.T) {
	gd := &pb.Observation{Province: "Guangdong", Year: 2024, Indicator: "industry.devices", Value: 1187, Unit: "10^4 units", Source: "yearbook, table 3"}
	bj := &pb.Observation{Province: "CN-BJ", Year: 2024, Indicator: "gdp", Value: 49843.1, Unit: "10^8 CNY"}
	t.Run("OKCSV", func(t *testing.T) {
		in := "\ufeffProvince, YEAR,indicator,value,unit,source\n" +
			"# a comment line\n" +
			"Guangdong,2024,industry.devices,1187,10^4 units,\"yearbook, table 3\"\n" +
			"CN-BJ,2024,gdp, 49843.1 ,10^8 CNY,\n"
		got, err := feed.ReadObservations(strings.NewReader(in), feed.CSV)
		if err != nil {
			t.Fatal(err)
		}
		want := []feed.ObservationLine{{Line: 3, Observation: gd}, {Line: 4, Observation: bj}}
		if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("OKJSONLines", func(t *testing.T) {
		in := `{"province":"Guangdong","year":2024,"indicator":"industry.devices","value":1187,"unit":"10^4 units","source":"yearbook, table 3"}

# comment
{"province":"CN-BJ","year":2024,"indicator":"gdp","value":49843.1,"unit":"10^8 CNY"}
`
		got, err := feed.ReadObservations(strings.NewReader(in), feed.JSONLines)
		if err != nil {
			t.Fatal(err)
		}
		want := []feed.ObservationLine{{Line: 1, Observation: gd}, {Line: 4, Observation: bj}}
		if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("OKNaNIsTheServersToReject", func(t *testing.T) {
		got, err := feed.ReadObservations(strings.NewReader("province,year,indicator,value,unit\nCN-GD,2024,tech.rnd,NaN,10^8 CNY\n"), feed.CSV)
		if err != nil || len(got) != 1 || !math.IsNaN(got[0].Observation.GetValue()) {
			t.Errorf("got %v, %v", got, err)
		}
	})
	for _, tc := range []struct {
		name, in, want string
		format         feed.Format
	}{
		{"ErrUnknownColumn", "province,year,indicator,value,unit,comment\n", "line 1, column 6: unknown column \"comment\"", feed.CSV},
		{"ErrMissingUnit", "province,year,indicator,value\n", "line 1: missing column \"unit\"", feed.CSV},
		{"ErrValue", "province,year,indicator,value,unit\nCN-GD,2024,tech.rnd,12,10^8 CNY\nCN-GD,2023,tech.rnd,lots,10^8 CNY\n", "line 3, column value: \"lots\" is not a number", feed.CSV},
		{"ErrYear", "province,year,indicator,value,unit\nCN-GD,2024.5,tech.rnd,12,10^8 CNY\n", "line 2, column year", feed.CSV},
		{"ErrJSON", "{\"province\":\"CN-GD\"}\n{\"province\":\"CN-GD\",\"colour\":1}\n", "line 2:", feed.JSONLines},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := feed.ReadObservations(strings.NewReader(tc.in), tc.format)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestDetectKind(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		format   feed.Format
		want     feed.Kind
		err      string
	}{
		{"OKObservationsCSV", "# header next\nprovince,year,Indicator,value,unit\n", feed.CSV, feed.Observations, ""},
		{"OKShipmentsCSV", "record_id,province,year,class,units\n", feed.CSV, feed.Shipments, ""},
		{"OKObservationsJSON", "\n# c\n{\"indicator\":\"gdp\"}\n", feed.JSONLines, feed.Observations, ""},
		{"OKShipmentsJSON", "{\"recordId\":\"r1\"}\n", feed.JSONLines, feed.Shipments, ""},
		{"OKShipmentsJSONOrigName", "{\"record_id\":\"r1\"}\n", feed.JSONLines, feed.Shipments, ""},
		{"ErrNeitherCSV", "province,year\n", feed.CSV, 0, "neither"},
		{"ErrBoth", "record_id,indicator\n", feed.CSV, 0, "both"},
		{"ErrEmptyJSON", "\n# only a comment\n", feed.JSONLines, 0, "no line"},
		{"ErrBadJSON", "[1,2]\n", feed.JSONLines, 0, "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := feed.DetectKind(strings.NewReader(tc.in), tc.format)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if k, err := feed.ParseKind("Observations"); err != nil || k != feed.Observations || k.String() != "observations" {
		t.Errorf("ParseKind: %v %v", k, err)
	}
	if _, err := feed.ParseKind("records"); err == nil {
		t.Error("ParseKind(records) succeeded")
	}
}
