package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// TestReport writes the report from a server loaded like the demo and
// checks each file against the server's own answers.
func TestReport(t *testing.T) {
	e := startDemoEnv(t)
	dir, m, secrets := e.dir, e.m, e.secrets
	ctx := context.Background()
	reader, err := client.New(m.Addr(), client.WithToken(secrets[demoReader]))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	read := func(t *testing.T, path string) string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	t.Run("OK", func(t *testing.T) {
		out := filepath.Join(dir, "report")
		stdout, errOut, err := run(t, "report", "--year", "2024", "--out", out, "--addr", m.Addr(), "--token", secrets[demoReader])
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		if !strings.Contains(stdout, "index year 2024") || !strings.Contains(stdout, "methodology v2") {
			t.Errorf("stdout:\n%s", stdout)
		}
		for _, dim := range []string{"", "scale", "industry", "tech", "env", "app"} {
			name := "ranking-composite.svg"
			if dim != "" {
				name = "ranking-" + dim + ".svg"
			}
			svg := read(t, filepath.Join(out, name))
			scores, err := reader.ListIndex(ctx, 2024, dim, 0)
			if err != nil {
				t.Fatal(err)
			}
			// Each province, in ListIndex's order, with its value as the chart writes it.
			at := 0
			for _, s := range scores {
				v := s.GetComposite()
				for _, d := range s.GetDimensions() {
					if d.GetDimension() == dim {
						v = d.GetScore()
					}
				}
				format := "%.2f"
				if v >= 100 {
					format = "%.1f"
				}
				want := fmt.Sprintf(`data-value="`+format+`">`, v)
				label := s.GetProvince().GetName() + " " + s.GetProvince().GetNameZh()
				i := strings.Index(svg[at:], want)
				if i < 0 || !strings.Contains(svg[at+i:], label) {
					t.Fatalf("%s: %s %s missing or out of ListIndex's order", name, label, want)
				}
				at += i + len(want)
			}
		}
		composite := read(t, filepath.Join(out, "ranking-composite.svg"))
		gd, err := reader.Index(ctx, "Guangdong", 2024, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("Guangdong 广东: %.2f, rank 1", gd.GetComposite()); !strings.Contains(composite, want) {
			t.Errorf("ranking-composite.svg lacks %q", want)
		}
		nat, err := reader.NationalCompute(ctx, 2025, 2)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(`data-period="2025Q2" data-total="%.1f"`, nat.GetTotalFp32EquivalentEflops()); !strings.Contains(read(t, filepath.Join(out, "trend.svg")), want) {
			t.Errorf("trend.svg lacks %s", want)
		}
		rel, err := reader.AnalyzeRelationship(ctx, 2024, pb.RelationshipTarget_RELATIONSHIP_TARGET_GDP, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("R² = %.3f   n = %d", rel.GetRSquared(), rel.GetN()); !strings.Contains(read(t, filepath.Join(out, "relationship.svg")), want) {
			t.Errorf("relationship.svg lacks %q", want)
		}
		index := read(t, filepath.Join(out, "index.html"))
		for _, want := range []string{"ranking-composite.svg", "ranking-app.svg", "trend.svg", "relationship.svg",
			fmt.Sprintf("Guangdong 广东: %.2f", gd.GetComposite()), "<svg"} {
			if !strings.Contains(index, want) {
				t.Errorf("index.html lacks %q", want)
			}
		}
		if strings.Contains(index, "http://") && !strings.Contains(index, `xmlns="http://www.w3.org/2000/svg"`) || strings.Contains(index, "https://") || strings.Contains(index, "<script") {
			t.Error("index.html must need no network and no script")
		}
	})
	t.Run("OKLatestYear", func(t *testing.T) {
		stdout, _, err := run(t, "report", "--out", filepath.Join(dir, "latest"), "--addr", m.Addr(), "--token", secrets[demoVendor])
		if err != nil || !strings.Contains(stdout, "index year 2024") {
			t.Errorf("%v\n%s", err, stdout)
		}
	})
	t.Run("ErrToken", func(t *testing.T) {
		_, _, err := run(t, "report", "--out", filepath.Join(dir, "denied"), "--addr", m.Addr(), "--token", "wrong-token-0123456789")
		if err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
			t.Errorf("%v, want Unauthenticated", err)
		}
	})
}
