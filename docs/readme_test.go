// Package docs holds the prose that is not the README (ARCHITECTURE.md) and the
// checks that keep the README honest: its links stay inside the repository, its
// contents resolve, and the catalog figures it states are the catalog's.
package docs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/computescale/computescale/catalog"
	"github.com/computescale/computescale/demodata"
	"github.com/computescale/computescale/estimator"
)

// markdownFiles are the documents a newcomer is pointed at; each must work offline.
var markdownFiles = []string{"../README.md", "ARCHITECTURE.md", "../BENCHMARKS.md"}

var (
	linkRE    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	urlRE     = regexp.MustCompile(`[a-z][a-z0-9+.-]*://[^\s)>\]` + "`" + `]+`)
	headingRE = regexp.MustCompile(`(?m)^#{1,6} (.+)$`)
)

// TestLinksStayInRepository: the README is read on machines with no network, so
// every link must name a file of this repository (and an anchor it has), and the
// only addresses it may print are loopback ones a reader's own demo serves.
func TestLinksStayInRepository(t *testing.T) {
	for _, name := range markdownFiles {
		text := read(t, name)
		for _, u := range urlRE.FindAllString(text, -1) {
			if !strings.Contains(u, "://127.0.0.1") && !strings.Contains(u, "://localhost") && !strings.Contains(u, "://[::1]") {
				t.Errorf("%s: address outside the repository: %s", name, u)
			}
		}
		for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") {
				continue // already judged above
			}
			file, anchor, _ := strings.Cut(target, "#")
			doc := name
			if file != "" {
				doc = filepath.Join(filepath.Dir(name), file)
				if _, err := os.Stat(doc); err != nil {
					t.Errorf("%s: link to %s: %v", name, target, err)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(doc, ".md") && !hasAnchor(read(t, doc), anchor) {
				t.Errorf("%s: link to %s: %s has no heading with that anchor", name, target, doc)
			}
		}
	}
}

// TestCatalogFigures: the README states how many chips and supercomputers the
// catalog holds and how many synthetic systems the demo adds; an earlier README
// counted the synthetic ones as catalogued.
func TestCatalogFigures(t *testing.T) {
	var synthetic int
	for _, r := range demodata.Shipments() {
		if r.Class == estimator.ClassSuper && strings.Contains(r.ID, "synthetic") {
			synthetic++
		}
	}
	readme := strings.Join(strings.Fields(read(t, "../README.md")), " ")
	for _, want := range []string{
		fmt.Sprintf("holds %d chips and %d supercomputers", len(catalog.Chips()), len(catalog.Supercomputers())),
		fmt.Sprintf("adds %d **synthetic** supercomputers", synthetic),
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README does not say %q", want)
		}
	}
}

func hasAnchor(text, anchor string) bool {
	for _, m := range headingRE.FindAllStringSubmatch(text, -1) {
		if githubAnchor(m[1]) == anchor {
			return true
		}
	}
	return false
}

// githubAnchor is the anchor a Markdown renderer derives from a heading: lower
// case, punctuation dropped, spaces as hyphens.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 0x7f:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}
