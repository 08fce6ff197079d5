package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCmd(&out, &errOut)
	cmd.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// TestDemoOnce runs the newcomer's command end to end: a real server on
// 127.0.0.1:0, the catalog and the demo feed through the real ingest path,
// and the province table.
func TestDemoOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	out, errOut, err := run(t, "demo", "--once", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--db", db, "--log-level", "warn")
	if err != nil {
		t.Fatalf("demo: %v\nstderr: %s", err, errOut)
	}
	for _, want := range []string{"dashboard: http://127.0.0.1:", "Beijing 北京", "Guangdong 广东", "Xizang 西藏", "China 全国", "reader", "statistician ", "FP16 × 0.5, FP64 × 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	compute, index, ok := strings.Cut(demoTable(out), "\nCompute development index 2024")
	if !ok {
		t.Fatalf("demo output has no 2024 index table:\n%s", out)
	}
	var first string
	for _, l := range strings.Split(compute, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "1" {
			first = f[1]
		}
	}
	if first != "Beijing" {
		t.Errorf("first province = %q, want Beijing:\n%s", first, out)
	}
	if !strings.Contains(index, "synthetic demo data") {
		t.Errorf("the index header does not say the data is synthetic:\n%s", index)
	}
	// Rows are: rank, pinyin, Chinese name, composite, tier, ...; the first
	// tier's names are one word each.
	var tier1 []string
	for _, l := range strings.Split(index, "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == "1" {
			tier1 = append(tier1, f[1])
		}
	}
	if want := []string{"Guangdong", "Beijing", "Jiangsu", "Zhejiang", "Shandong", "Shanghai"}; !slices.Equal(tier1, want) {
		t.Errorf("first tier %v, want %v:\n%s", tier1, want, index)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("database file: %v", err)
	}
	// A second run on the same file is an idempotent re-load: same table.
	out2, _, err := run(t, "demo", "--once", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--db", db, "--log-level", "warn")
	if err != nil {
		t.Fatal(err)
	}
	if demoTable(out) != demoTable(out2) {
		t.Errorf("second load changed the table:\n%s\n---\n%s", demoTable(out), demoTable(out2))
	}
}

// demoTable is the demo output up to the blank line before the tokens.
func demoTable(out string) string {
	i := strings.Index(out, "\nserving on")
	if i < 0 {
		return out
	}
	return out[:i]
}

func TestIngestFeedReportsLines(t *testing.T) {
	dir := t.TempDir()
	// Start a demo server in the background to ingest into.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, _, secrets := startCLIServer(t, cliServeConfig(filepath.Join(dir, "s.db")))
	defer m.Close()
	if err := loadCatalogOnly(ctx, m.Addr(), secrets[demoAdmin]); err != nil {
		t.Fatal(err)
	}
	feedFile := filepath.Join(dir, "feed.csv")
	os.WriteFile(feedFile, []byte(`record_id,province,year,quarter,class,units,components
r1,Guangdong,2024,0,general,100,2*intel-xeon-platinum-8480p
r2,Atlantis,2024,0,general,100,2*intel-xeon-platinum-8480p
r3,CN-BJ,2024,1,general,5,2*intel-xeon-platinum-8480p
`), 0o644)
	_, errOut, err := run(t, "ingest", feedFile, "--addr", m.Addr(), "--token", secrets[demoVendor], "--batch", "2")
	if err == nil {
		t.Fatal("ingest with a bad line succeeded")
	}
	if !strings.Contains(errOut, "lines 2-3") || !strings.Contains(errOut, "line 3: province") {
		t.Errorf("stderr does not name the bad line:\n%s", errOut)
	}
	out, _, err := run(t, "query", "province", "CN-BJ", "--year", "2024", "--quarter", "1", "--addr", m.Addr(), "--token", secrets[demoReader], "--json")
	if err != nil {
		t.Fatal(err)
	}
	// protojson varies its spacing on purpose: compare with spaces squeezed.
	if !strings.Contains(strings.Join(strings.Fields(out), " "), `"recordCount": "1"`) {
		t.Errorf("the good batch was not stored:\n%s", out)
	}
}
