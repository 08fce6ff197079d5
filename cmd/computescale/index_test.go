package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestIndexCommands runs index, ahp, methodology and an observation feed
// through ingest against one server loaded like the demo.
func TestIndexCommands(t *testing.T) {
	e := startDemoEnv(t)
	as, write := e.as, e.write

	t.Run("OKUncertainty", func(t *testing.T) {
		out, errOut, err := run(t, as(demoReader, "uncertainty", "--year", "2024", "--samples", "50", "--seed", "3")...)
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 33 || !strings.Contains(lines[0], "most sensitive to") || !strings.Contains(lines[32], "50 samples, seed 3, 350 runs") {
			t.Fatalf("want a header, 31 rows and a footer:\n%s", out)
		}
		for _, l := range lines[1:32] {
			if strings.Count(l, "●") != 1 {
				t.Errorf("row without its nominal rank marked: %q", l)
			}
		}
		again, _, _ := run(t, as(demoReader, "uncertainty", "--year", "2024", "--samples", "50", "--seed", "3")...)
		if again != out {
			t.Error("the same request printed different numbers")
		}
		csvOut, _, err := run(t, as(demoReader, "uncertainty", "--year", "2024", "--samples", "20", "--vary", "weights", "-o", "csv")...)
		if err != nil || !strings.HasPrefix(csvOut, "median,province,nominal,5-95%") || strings.Count(csvOut, "\n") != 32 || strings.Contains(csvOut, "●") {
			t.Errorf("csv: %v\n%s", err, csvOut)
		}
		if _, _, err := run(t, as(demoReader, "uncertainty", "--vary", "luck")...); err == nil || !strings.Contains(err.Error(), "--vary") {
			t.Errorf("--vary luck: %v", err)
		}
		if _, _, err := run(t, as(demoReader, "uncertainty", "--samples", "30000")...); len(fieldViolations(err)) != 1 || fieldViolations(err)[0].GetField() != "samples" {
			t.Errorf("--samples 30000: %v %v", err, fieldViolations(err))
		}
	})
	t.Run("OKIndex", func(t *testing.T) {
		out, errOut, err := run(t, as(demoReader, "index", "--year", "2024")...)
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		lines := strings.Split(out, "\n")
		if f := strings.Fields(lines[0]); len(f) < 10 || f[0] != "rank" || f[2] != "composite" {
			t.Errorf("header %q", lines[0])
		}
		if f := strings.Fields(lines[1]); len(f) < 12 || f[0] != "1" || f[1] != "Guangdong" || f[4] != "1" || !strings.HasPrefix(f[11], strings.Repeat("█", barWidth)) {
			t.Errorf("first row %q, want rank 1 Guangdong, tier 1, a full bar", lines[1])
		}
		if !strings.Contains(out, "methodology v2") || strings.Count(out, "\n") != 33 {
			t.Errorf("want 31 rows between a header and a footer naming methodology v2:\n%s", out)
		}
	})
	t.Run("OKIndexDimensionJSON", func(t *testing.T) {
		out, _, err := run(t, as(demoReader, "index", "--year", "2024", "--dimension", "scale", "--json", "--methodology-version", "1")...)
		if err != nil {
			t.Fatal(err)
		}
		var resp struct {
			Scores []struct {
				Province struct{ Name string }
			}
			MethodologyVersion string
		}
		if err := json.Unmarshal([]byte(out), &resp); err != nil || len(resp.Scores) != 31 || resp.MethodologyVersion != "1" {
			t.Fatalf("JSON %v: %s", err, out)
		}
		if resp.Scores[0].Province.Name != "Beijing" {
			t.Errorf("first by scale: %s, want Beijing (the largest compute)", resp.Scores[0].Province.Name)
		}
	})
	t.Run("ErrIndexDimension", func(t *testing.T) {
		if _, _, err := run(t, as(demoReader, "index", "--dimension", "fun")...); err == nil || !strings.Contains(err.Error(), "--dimension") {
			t.Errorf("unknown dimension: %v", err)
		}
	})

	t.Run("OKAHPMatrix", func(t *testing.T) {
		f := write("textbook.json", `{"matrix": [[1,"1/2",4,3,3],[2,1,7,5,5],["1/4","1/7",1,"1/2","1/3"],["1/3","1/5",2,1,1],["1/3","1/5",3,1,1]]}`)
		out, errOut, err := run(t, as(demoReader, "ahp", f)...)
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		for _, want := range []string{"0.2636", "0.4758", "0.0538", "0.0981", "0.1087", "λmax 5.0721", "CI 0.0180", "RI(5) 1.12", "CR 0.0161",
			"verdict: acceptable", "a(3, 5) = 1/3; consistent with the weights: 0.4952", "RI table (Saaty"} {
			if !strings.Contains(out, want) {
				t.Errorf("ahp output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("OKAHPHierarchy", func(t *testing.T) {
		f := write("tree.json", `{"code": "root", "weights": [3, 1], "children": [
			{"code": "a", "matrix": {"rows": [{"values": [1, 9, 0.1111111]}, {"values": [0.1111111, 1, 9]}, {"values": [9, 0.1111111, 1]}]},
			 "children": [{"code": "a1"}, {"code": "a2"}, {"code": "a3"}]},
			{"code": "b"}]}`)
		// The printout comes, and then the exit status says it is not acceptable.
		out, _, err := run(t, as(demoReader, "ahp", f)...)
		if err == nil || !strings.Contains(err.Error(), "not acceptable") || !strings.Contains(err.Error(), "node a") {
			t.Errorf("an inconsistent hierarchy: err %v, want one naming node a as not acceptable", err)
		}
		for _, want := range []string{"node root (weights)", "node a (matrix)", "verdict: NOT acceptable", "leaf global weights:", "b       0.2500"} {
			if !strings.Contains(out, want) {
				t.Errorf("ahp output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("OKAHPRequest", func(t *testing.T) {
		f := write("req.json", `{"matrix": {"rows": [{"values": [1, 3]}, {"values": [0.33333333, 1]}]}, "method": "AHP_METHOD_GEOMETRIC_MEAN"}`)
		out, _, err := run(t, as(demoReader, "ahp", f)...)
		if err != nil || !strings.Contains(out, "geometric mean") || !strings.Contains(out, "0.7500") {
			t.Errorf("%v:\n%s", err, out)
		}
	})
	t.Run("ErrAHPFile", func(t *testing.T) {
		f := write("bad.json", `{"matrix": [[1, "x"], [1, 1]]}`)
		if _, _, err := run(t, as(demoReader, "ahp", f)...); err == nil || !strings.Contains(err.Error(), "matrix[0][1]") {
			t.Errorf("bad cell: %v", err)
		}
	})

	t.Run("OKMethodology", func(t *testing.T) {
		out, _, err := run(t, as(demoReader, "methodology", "get")...)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"methodology v2", "normalisation  target", "  scale ", "    tech.innovation", "target "} {
			if !strings.Contains(out, want) {
				t.Errorf("methodology get lacks %q:\n%s", want, out)
			}
		}
		js, _, err := run(t, as(demoReader, "methodology", "get", "--json")...)
		if err != nil {
			t.Fatal(err)
		}
		f := write("m.json", strings.Replace(js, "demo:", "edited demo:", 1))
		if _, _, err := run(t, as(demoReader, "methodology", "put", f)...); err == nil || !strings.Contains(err.Error(), "PermissionDenied") {
			t.Errorf("reader put: %v, want PermissionDenied", err)
		}
		out, _, err = run(t, as(demoAdmin, "methodology", "put", f)...)
		if err != nil || !strings.Contains(out, "stored methodology v3") {
			t.Errorf("admin put: %v\n%s", err, out)
		}
	})
	t.Run("ErrMethodologyInconsistent", func(t *testing.T) {
		m := `{"description": "cyclic", "coverageThreshold": 0.5, "hierarchy": {"code": "index",
			"matrix": {"rows": [{"values": [1, 9, 0.1111111]}, {"values": [0.1111111, 1, 9]}, {"values": [9, 0.1111111, 1]}]},
			"children": [{"code": "scale.basic"}, {"code": "industry.devices"}, {"code": "tech.rnd"}]}}`
		f := write("cyclic.json", m)
		if _, _, err := run(t, as(demoAdmin, "methodology", "put", f)...); err == nil || !strings.Contains(err.Error(), "FailedPrecondition") {
			t.Errorf("inconsistent put: %v, want FailedPrecondition", err)
		}
		out, _, err := run(t, as(demoAdmin, "methodology", "put", f, "--allow-inconsistent")...)
		if err != nil || !strings.Contains(out, "stored methodology v4") || !strings.Contains(out, "NOT acceptable") {
			t.Errorf("allowed put: %v\n%s", err, out)
		}
	})

	t.Run("OKIngestObservations", func(t *testing.T) {
		f := write("obs.csv", `province,year,indicator,value,unit,source
Guangdong,2024,tech.rnd,1800,10^8 CNY,revised bulletin
CN-BJ,2024,gdp,49843.1,10^8 CNY,bulletin
CN-SH,2024,industry.devices,-5,10^4 units,typo
CN-SH,2024,env.bandwidth,90,Gbps,wrong unit
`)
		_, errOut, err := run(t, as(demoAdmin, "ingest", f, "--batch", "2", "--replace")...)
		if err == nil {
			t.Fatal("ingest with bad lines succeeded")
		}
		for _, want := range []string{"lines 4-5 (batch 2): InvalidArgument: batch rejected: invalid or implausible observations", "line 4: value:", "line 5: unit:"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr lacks %q:\n%s", want, errOut)
			}
		}
		js := write("obs.jsonl", `{"province":"CN-GD","year":2024,"indicator":"tech.rnd","value":1800,"unit":"10^8 CNY","source":"revised bulletin"}`+"\n")
		out, _, err := run(t, as(demoAdmin, "ingest", js)...)
		if err != nil || !strings.Contains(out, "1 observations in 1 batches: 0 created, 0 replaced, 1 unchanged") {
			t.Errorf("the first batch was not stored, or the JSON feed not read: %v\n%s", err, out)
		}
		if _, _, err := run(t, as(demoAdmin, "ingest", js, "--kind", "shipments")...); err == nil {
			t.Error("an observation feed read as shipments succeeded")
		}
	})
}
