package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

// TestCLI runs the client commands against one server loaded like the demo:
// the window a year means, tables aligned by display width, the output
// formats, errors with the server's field violations, every violation of a
// rejected batch, and the version, retract, compact and chips commands.
func TestCLI(t *testing.T) {
	e := startDemoEnv(t)
	as, write := e.as, e.write
	mustRun := func(t *testing.T, args ...string) string {
		t.Helper()
		out, errOut, err := run(t, args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		return out
	}
	totalOf := func(t *testing.T, js string) string {
		t.Helper()
		var v struct{ TotalFp32EquivalentEflops float64 }
		if err := json.Unmarshal([]byte(js), &v); err != nil {
			t.Fatalf("%v: %s", err, js)
		}
		return jsonNumber(v.TotalFp32EquivalentEflops)
	}

	// Item 8: a year alone is the window ending at its fourth quarter, and
	// the table says which window it shows; one province has no rank.
	t.Run("OKYearAloneIsYearEnd", func(t *testing.T) {
		out := mustRun(t, as(demoReader, "query", "province", "广东", "--year", "2024")...)
		if !strings.Contains(out, "six-year window 2019Q1–2024Q4") {
			t.Errorf("--year 2024 does not show the window ending 2024Q4:\n%s", out)
		}
		lines := strings.Split(out, "\n")
		if len(lines) < 3 || strings.Fields(lines[1])[0] != "province" || strings.Fields(lines[2])[0] != "Guangdong" {
			t.Errorf("a single province has a rank column:\n%s", out)
		}
		year := totalOf(t, mustRun(t, as(demoReader, "query", "province", "广东", "--year", "2024", "-o", "json")...))
		q4 := totalOf(t, mustRun(t, as(demoReader, "query", "province", "广东", "--year", "2024", "--quarter", "4", "-o", "json")...))
		q2 := totalOf(t, mustRun(t, as(demoReader, "query", "province", "广东", "--year", "2024", "--quarter", "2", "-o", "json")...))
		if year != q4 || year == q2 {
			t.Errorf("total for --year 2024: %s; 2024Q4: %s; 2024Q2: %s; want the Q4 one", year, q4, q2)
		}
		for args, window := range map[string]string{
			"query national --year 2024 --quarter 2": "2018Q3–2024Q2",
			"query list":                             "2019Q3–2025Q2",
			"query national --quarter 1":             "2019Q2–2025Q1",
		} {
			out := mustRun(t, as(demoReader, strings.Fields(args)...)...)
			if !strings.HasPrefix(out, "six-year window "+window) {
				t.Errorf("%s: want the window %s named first:\n%s", args, window, out)
			}
		}
	})

	// Item 9: every table lines up by display width, Chinese names
	// included (内蒙古 and 黑龙江 were a column off in query).
	t.Run("OKTablesAlignByDisplayWidth", func(t *testing.T) {
		out := mustRun(t, as(demoReader, "query", "list")...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		table := lines[1 : len(lines)-1] // between the window and the factors
		if len(table) != 33 {
			t.Fatalf("want a header, 31 provinces and the national row:\n%s", out)
		}
		// The last column is right-aligned: every line ends in the same cell.
		for _, l := range table {
			if displayWidth(l) != displayWidth(table[0]) {
				t.Errorf("query list: %q is %d cells wide, the header %d", l, displayWidth(l), displayWidth(table[0]))
			}
		}
		if !strings.Contains(out, "Inner Mongolia 内蒙古") || !strings.Contains(out, "Heilongjiang 黑龙江") {
			t.Errorf("query list lacks the long names:\n%s", out)
		}
		// index: the coverage column (right-aligned) ends in the same cell
		// on every line; the bars after it vary.
		out = mustRun(t, as(demoReader, "index", "--year", "2024")...)
		lines = strings.Split(strings.TrimSpace(out), "\n")
		header := lines[0]
		end := displayWidth(header[:strings.Index(header, "coverage")+len("coverage")])
		for _, l := range lines[1 : len(lines)-1] {
			bar := strings.IndexAny(l, "█▏▎▍▌▋▊▉")
			if bar < 0 {
				bar = len(l)
			}
			if w := displayWidth(strings.TrimRight(l[:bar], " ")); w != end {
				t.Errorf("index: %q ends its coverage at cell %d, the header at %d", l, w, end)
			}
		}
		if displayWidth("内蒙古") != 6 || displayWidth("Heilongjiang 黑龙江") != 19 || displayWidth("—") != 1 {
			t.Error("displayWidth does not count East Asian wide characters as two cells")
		}
	})

	// Item 13: -o table|json|csv on the read commands, --json an alias.
	t.Run("OKOutputFormats", func(t *testing.T) {
		recs, err := csv.NewReader(strings.NewReader(mustRun(t, as(demoReader, "query", "list", "-o", "csv")...))).ReadAll()
		if err != nil || len(recs) != 33 || recs[0][0] != "#" || recs[0][1] != "province" || recs[32][1] != "China 全国" {
			t.Errorf("query list -o csv: %v, %d records: %v", err, len(recs), recs)
		}
		js := mustRun(t, as(demoReader, "query", "list", "-o", "json")...)
		if alias := mustRun(t, as(demoReader, "query", "list", "--json")...); alias != js {
			t.Error("--json differs from -o json")
		}
		var list struct{ Totals []json.RawMessage }
		if err := json.Unmarshal([]byte(js), &list); err != nil || len(list.Totals) != 31 {
			t.Errorf("query list -o json: %v, %d totals", err, len(list.Totals))
		}
		recs, err = csv.NewReader(strings.NewReader(mustRun(t, as(demoReader, "index", "--year", "2024", "-o", "csv")...))).ReadAll()
		if err != nil || len(recs) != 32 || recs[0][len(recs[0])-1] != "coverage" || recs[1][1] != "Guangdong 广东" {
			t.Errorf("index -o csv (no bar column): %v %v", err, recs[:min(2, len(recs))])
		}
		recs, err = csv.NewReader(strings.NewReader(mustRun(t, as(demoReader, "chips", "--kind", "gpu", "-o", "csv")...))).ReadAll()
		if err != nil || len(recs) < 2 || recs[0][0] != "id" || recs[1][1] != "gpu" {
			t.Errorf("chips --kind gpu -o csv: %v %v", err, recs)
		}
		if out := mustRun(t, as(demoReader, "chips")...); !strings.Contains(out, "intel-xeon-platinum-8480p") {
			t.Errorf("chips does not list the catalog's ids:\n%s", out)
		}
		recs, err = csv.NewReader(strings.NewReader(mustRun(t, as(demoReader, "methodology", "get", "-o", "csv")...))).ReadAll()
		if err != nil || len(recs) < 10 || strings.Join(recs[0], ",") != "node,parent,local_weight,global_weight" {
			t.Errorf("methodology get -o csv: %v %v", err, recs)
		}
		var verify struct{ Ok bool }
		if err := json.Unmarshal([]byte(mustRun(t, as(demoAdmin, "verify", "-o", "json")...)), &verify); err != nil || !verify.Ok {
			t.Errorf("verify -o json: %v %+v", err, verify)
		}
		for _, args := range [][]string{{"query", "list", "-o", "yaml"}, {"index", "-o", "xml"}, {"query", "list", "-o", "csv", "--json"}} {
			if _, _, err := run(t, as(demoReader, args...)...); err == nil || !strings.Contains(err.Error(), "-o") {
				t.Errorf("%v: %v, want an error about -o", args, err)
			}
		}
	})

	// Item 10: a bad request's field violations reach the user, from every
	// command through the one error printer; an unacceptable matrix exits
	// non-zero.
	t.Run("ErrAHPViolationsAndVerdict", func(t *testing.T) {
		bad := write("negative.json", `{"matrix": [[1, -2], [0.5, 1]]}`)
		_, _, err := run(t, as(demoReader, "ahp", bad)...)
		var buf bytes.Buffer
		printError(&buf, err)
		if err == nil || !strings.Contains(buf.String(), "InvalidArgument") || !strings.Contains(buf.String(), "\n  matrix[0][1]: judgement -2 must be positive") {
			t.Errorf("ahp on a negative judgement printed:\n%s", buf.String())
		}
		cyclic := write("cyclic-matrix.json", `{"matrix": [[1, 9, "1/9"], ["1/9", 1, 9], [9, "1/9", 1]]}`)
		out, _, err := run(t, as(demoReader, "ahp", cyclic)...)
		if err == nil || !strings.Contains(err.Error(), "not acceptable") || !strings.Contains(out, "verdict: NOT acceptable") {
			t.Errorf("ahp on an inconsistent matrix: err %v, output:\n%s", err, out)
		}
		_, _, err = run(t, as(demoReader, "query", "province", "Atlantis")...)
		buf.Reset()
		printError(&buf, err)
		if err == nil || !strings.Contains(buf.String(), "\n  province: ") {
			t.Errorf("query province Atlantis printed:\n%s", buf.String())
		}
	})

	// Item 11: a rejected batch's report names every bad line, an unknown
	// chip included, in one wording.
	t.Run("ErrIngestEveryViolation", func(t *testing.T) {
		f := write("two-bad.csv", `record_id,province,year,quarter,class,units,components
cli-1,Atlantis,2024,0,general,100,2*intel-xeon-platinum-8480p
cli-2,CN-BJ,2024,1,general,5,2*no-such-chip
`)
		_, errOut, err := run(t, as(demoVendor, "ingest", f)...)
		if err == nil || !strings.Contains(err.Error(), "1 of 1 batches rejected") {
			t.Errorf("ingest: %v", err)
		}
		for _, want := range []string{"lines 2-3 (batch 1): InvalidArgument: batch rejected: invalid records",
			"line 2: province: unknown province", `line 3: components[0].chip_id: unknown chip id "no-such-chip"`} {
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr lacks %q:\n%s", want, errOut)
			}
		}
	})

	// Items 12 and 13: a JSON line with the CSV's class name goes in; the
	// vendor retracts it; the admin compacts the watch history.
	t.Run("OKJSONLinesRetractCompact", func(t *testing.T) {
		f := write("one.jsonl", `{"recordId":"cli-json-1","province":"CN-GD","period":{"year":2024},"serverClass":"general","units":"10","components":[{"count":2,"chipId":"intel-xeon-platinum-8480p"}]}`+"\n")
		if out := mustRun(t, as(demoVendor, "ingest", f)...); !strings.Contains(out, "1 created") {
			t.Errorf("ingest of a JSON line with class general:\n%s", out)
		}
		if out := mustRun(t, as(demoVendor, "retract", "cli-json-1")...); !strings.Contains(out, "retracted 1 records at revision") {
			t.Errorf("retract:\n%s", out)
		}
		if _, _, err := run(t, as(demoVendor, "retract", "cli-json-1")...); err == nil || !strings.Contains(err.Error(), "NotFound") {
			t.Errorf("retracting it again: %v, want NotFound", err)
		}
		out := mustRun(t, as(demoVendor, "retract", "--allow-missing", "cli-json-1")...)
		if !strings.Contains(out, "retracted 0 records") || !strings.Contains(out, "not stored (skipped): cli-json-1") {
			t.Errorf("retract --allow-missing:\n%s", out)
		}
		if out := mustRun(t, as(demoAdmin, "compact", "5")...); !strings.Contains(out, "oldest revision retained 5") {
			t.Errorf("compact:\n%s", out)
		}
		if _, _, err := run(t, as(demoReader, "compact", "5")...); err == nil || !strings.Contains(err.Error(), "PermissionDenied") {
			t.Errorf("compact as a reader: %v", err)
		}
	})

	t.Run("OKVersionAndHelp", func(t *testing.T) {
		out := mustRun(t, "version")
		for _, want := range []string{"computescale version: ", "git revision: ", "go version: go1.", "API: computescale.v1"} {
			if !strings.Contains(out, want) {
				t.Errorf("version lacks %q:\n%s", want, out)
			}
		}
		for _, args := range [][]string{{"--help"}, {"query", "--help"}, {"ingest", "--help"}} {
			out := mustRun(t, args...)
			for _, env := range []string{"COMPUTESCALE_ADDR", "COMPUTESCALE_TOKEN", "COMPUTESCALE_TIMEOUT", "COMPUTESCALE_DIAL_TIMEOUT", "COMPUTESCALE_TLS_CA"} {
				if !strings.Contains(out, env) {
					t.Errorf("%v does not list %s", args, env)
				}
			}
		}
	})

	// Item 13: a TLS handshake that fails is reported at once, with its
	// reason, not as DeadlineExceeded when the call's deadline expires
	// (both a minute here, so waiting would show as the wrong error).
	t.Run("ErrTLSHandshakeAtOnce", func(t *testing.T) {
		_, _, err := run(t, as(demoReader, "query", "national", "--tls", "--dial-timeout", "1m", "--timeout", "1m")...)
		if err == nil || !strings.Contains(err.Error(), "handshake") || strings.Contains(err.Error(), "DeadlineExceeded") {
			t.Errorf("TLS to a plaintext server: %v, want the handshake failure", err)
		}
	})
}

func jsonNumber(v float64) string {
	b, _ := json.Marshal(v)
	return string(b)
}
