package feed

import (
	"strings"
	"testing"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// TestMalformedFeeds is the feed half of the README's bad-input table: every
// malformed file is refused whole with its line (and column) named, so the
// CLI sends nothing of it.
func TestMalformedFeeds(t *testing.T) {
	const head = "record_id,province,year,quarter,class,units,components\n"
	for _, c := range []struct {
		name, body string
		format     Format
		want       string
	}{
		{"ErrUnknownColumn", "record_id,province,year,class,units,colour\n", CSV, "line 1, column 6: unknown column \"colour\""},
		{"ErrMissingColumn", "record_id,province,year,class\n", CSV, "missing column \"units\""},
		{"ErrUnitsNotInteger", head + "r1,CN-GD,2024,0,general,ten,2*x\n", CSV, "line 2, column units"},
		{"ErrYearNotInteger", head + "r1,CN-GD,MMXXIV,0,general,1,2*x\n", CSV, "line 2, column year"},
		{"ErrClass", head + "r1,CN-GD,2024,0,mainframe,1,2*x\n", CSV, "line 2, column class"},
		{"ErrComponents", head + "r1,CN-GD,2024,0,general,1,two*x\n", CSV, "line 2, column components"},
		{"ErrRpeakNotNumber", "record_id,province,year,class,units,rpeak_fp64_flops\nr1,CN-GD,2024,super,1,lots\n", CSV, "line 2, column rpeak_fp64_flops"},
		{"ErrUnbalancedQuote", head + "r1,\"CN-GD,2024,0,general,1,2*x\n", CSV, "read CSV"},
		{"ErrJSONSyntax", "{\"recordId\": \"r1\",\n", JSONLines, "line 1"},
		{"ErrJSONUnknownField", "{\"recordId\": \"r1\", \"colour\": \"red\"}\n", JSONLines, "line 1"},
		{"ErrJSONWrongType", "{\"recordId\": \"r1\", \"units\": \"many\"}\n", JSONLines, "line 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			recs, err := ReadShipments(strings.NewReader(c.body), c.format)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			if recs != nil {
				t.Errorf("%d records returned with the error", len(recs))
			}
		})
	}
}

func TestReadShipments(t *testing.T) {
	csv := "# a comment\nrecord_id,province,year,quarter,class,units,components,note\n" +
		"r1,广东,2024,,general,100,2*intel-xeon-platinum-8480p,\"dual, 8480+\"\n" +
		"r2,CN-BJ,2025,2,ai,8,2*intel-xeon-platinum-8480p; 8*nvidia-h100-sxm5,\n"
	got, err := ReadShipments(strings.NewReader(csv), CSV)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Line != 3 || got[1].Line != 4 {
		t.Fatalf("records/lines = %+v", got)
	}
	r := got[1].Record
	if r.GetProvince() != "CN-BJ" || r.GetPeriod().GetQuarter() != 2 || len(r.GetComponents()) != 2 ||
		r.GetComponents()[1].GetCount() != 8 || r.GetComponents()[1].GetChipId() != "nvidia-h100-sxm5" {
		t.Errorf("record = %v", r)
	}
	if got[0].Record.GetNote() != "dual, 8480+" {
		t.Errorf("note = %q", got[0].Record.GetNote())
	}
}

// TestJSONLinesClassNames: a JSON line may name the class as the CSV does
// (general, ai, super) as well as by the enum, and a wrong name says which
// are right.
func TestJSONLinesClassNames(t *testing.T) {
	for name, want := range map[string]pb.ServerClass{
		"general":                     pb.ServerClass_SERVER_CLASS_GENERAL_SERVER,
		"ai":                          pb.ServerClass_SERVER_CLASS_AI_SERVER,
		"AI":                          pb.ServerClass_SERVER_CLASS_AI_SERVER,
		"super":                       pb.ServerClass_SERVER_CLASS_SUPERCOMPUTER,
		"SERVER_CLASS_SUPERCOMPUTER":  pb.ServerClass_SERVER_CLASS_SUPERCOMPUTER,
		"SERVER_CLASS_GENERAL_SERVER": pb.ServerClass_SERVER_CLASS_GENERAL_SERVER,
	} {
		line := `{"recordId":"r1","province":"CN-GD","period":{"year":2024},"serverClass":"` + name +
			`","units":"10","components":[{"count":8,"chipId":"nvidia-h100-sxm"}]}`
		got, err := ReadShipments(strings.NewReader(line+"\n"), JSONLines)
		if err != nil {
			t.Errorf("class %q: %v", name, err)
			continue
		}
		if c := got[0].Record.GetServerClass(); c != want || got[0].Record.GetUnits() != 10 || got[0].Record.GetComponents()[0].GetChipId() != "nvidia-h100-sxm" {
			t.Errorf("class %q: read %v", name, got[0].Record)
		}
	}
	_, err := ReadShipments(strings.NewReader(`{"recordId":"r1","serverClass":"gpu"}`+"\n"), JSONLines)
	if err == nil || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "general, ai or super") {
		t.Errorf("an unknown class: %v, want the line and the names", err)
	}
}
