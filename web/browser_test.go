package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// requireBrowserEnv makes a missing Chromium a failure rather than a skip;
// .ci/run sets it, so CI cannot pass without the browser test having run.
const requireBrowserEnv = "COMPUTESCALE_REQUIRE_BROWSER"

// findChromium decides what a test that needs Chromium does: run with the
// browser at path, or, without one, skip (a fresh machine, where
// `go test ./...` must pass) or fail (when require is set, as in CI). Exactly
// one of path, skip and fail is non-empty.
func findChromium(require bool, lookPath func(string) (string, error)) (path, skip, fail string) {
	var errs []string
	// Debian's package installs "chromium"; other systems name it otherwise.
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		p, err := lookPath(name)
		if err == nil {
			return p, "", ""
		}
		errs = append(errs, err.Error())
	}
	msg := fmt.Sprintf("no headless Chromium on PATH (%s); install it with `apt-get install -y chromium fonts-wqy-microhei`", strings.Join(errs, "; "))
	if require {
		return "", "", msg + " (" + requireBrowserEnv + "=1 requires this test)"
	}
	return "", "skipping the browser test: " + msg + "; set " + requireBrowserEnv + "=1 to make this a failure", ""
}

// chromium returns the browser's path, or skips or fails t as findChromium decides.
func chromium(t *testing.T) string {
	t.Helper()
	path, skip, fail := findChromium(os.Getenv(requireBrowserEnv) == "1", exec.LookPath)
	switch {
	case fail != "":
		t.Fatal(fail)
	case skip != "":
		t.Skip(skip)
	}
	return path
}

func TestFindChromium(t *testing.T) {
	missing := func(name string) (string, error) { return "", fmt.Errorf("%s: not found", name) }
	if path, skip, fail := findChromium(false, missing); path != "" || fail != "" || !strings.Contains(skip, requireBrowserEnv) {
		t.Errorf("no browser, not required: path %q skip %q fail %q; want a skip naming %s", path, skip, fail, requireBrowserEnv)
	}
	if path, skip, fail := findChromium(true, missing); path != "" || skip != "" || !strings.Contains(fail, "apt-get install") {
		t.Errorf("no browser, required: path %q skip %q fail %q; want a failure saying how to install it", path, skip, fail)
	}
	found := func(name string) (string, error) {
		if name == "chromium-browser" {
			return "/opt/bin/chromium-browser", nil
		}
		return "", fmt.Errorf("%s: not found", name)
	}
	if path, skip, fail := findChromium(true, found); path != "/opt/bin/chromium-browser" || skip != "" || fail != "" {
		t.Errorf("browser present: path %q skip %q fail %q", path, skip, fail)
	}
}

// TestBrowserLiveDashboard drives the dashboard in headless Chromium against
// a real server loaded with the demo data: the ranking shown is ListIndex's,
// and an ingest redraws the charts without a reload.
func TestBrowserLiveDashboard(t *testing.T) {
	chromiumPath := chromium(t)
	e := newEnv(t, loadDemo)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), // /dev/shm is small in containers
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(900, 1200),
	)
	defer cancelAlloc() // stops the browser before t.TempDir is removed
	tab, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()

	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, steps...); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(js string, out any) {
		t.Helper()
		raw, err := chromedp.Run(tab, chromedp.Evaluate[[]byte](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: %v", js, err)
		}
	}
	waitFor := func(what, js string) {
		t.Helper()
		_, err := chromedp.Run(tab, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	// Screenshots go to the test's temporary folder, so that the tests
	// leave the tree as they found it; the README's are made by
	// scripts/screenshots.sh.
	shots := t.TempDir()
	shoot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const (
		barCodesJS = `[...document.querySelectorAll("#ranking g.bar")].map((g) => g.dataset.code)`
		revisionJS = `Number(document.getElementById("revision").textContent)`
		xizangJS   = `(() => { const g = document.querySelector('#ranking g.bar[data-code="540000"]'); return {rank: g.dataset.rank, value: g.dataset.value}; })()`
		trendJS    = `document.querySelector('#trend g.period[data-period="2025Q2"]').dataset.total`
	)

	// The token once in the URL; the cookie from then on.
	do(chromedp.Navigate(e.web.URL+"/?token="+readerToken), chromedp.WaitVisible(chromedp.CSS("#ranking g.bar")))
	waitFor("the event stream", `document.getElementById("live").textContent.startsWith("live")`)
	var href string
	eval(`location.href`, &href)
	if strings.Contains(href, "token") {
		t.Errorf("the token stayed in the URL: %s", href)
	}

	ranking := func() []string {
		scores, err := e.reader.ListIndex(ctx, 2024, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		var codes []string
		for _, s := range scores {
			codes = append(codes, s.GetProvince().GetCode())
		}
		return codes
	}
	var shown []string
	eval(barCodesJS, &shown)
	if want := ranking(); !slices.Equal(shown, want) {
		t.Fatalf("ranking shown %v, ListIndex %v", shown, want)
	}
	var rev0 int
	var xz0 struct{ Rank, Value string }
	var trend0 string
	eval(revisionJS, &rev0)
	eval(xizangJS, &xz0)
	eval(trendJS, &trend0)
	shoot("dashboard.png")

	// 50,000 eight-GPU servers lift Xizang, last of 31, up the ranking.
	eval(`window.noReload = true`, new(bool))
	rev := e.ingest(ctx, t, aiServers("browser-1", "CN-XZ", 50_000))
	waitFor("the charts to redraw", fmt.Sprintf(`%s > %d && %s.value !== %q`, revisionJS, rev0, xizangJS, xz0.Value))
	var (
		reloaded = true
		rev1     int
		xz1      struct{ Rank, Value string }
		trend1   string
	)
	eval(`window.noReload !== true`, &reloaded)
	eval(revisionJS, &rev1)
	eval(xizangJS, &xz1)
	eval(trendJS, &trend1)
	eval(barCodesJS, &shown)
	if reloaded {
		t.Error("the page reloaded")
	}
	if rev1 < int(rev) {
		t.Errorf("revision shown %d, want at least %d", rev1, rev)
	}
	if xz1.Rank == xz0.Rank || xz1.Value == xz0.Value {
		t.Errorf("Xizang %+v before, %+v after: want a new rank and value", xz0, xz1)
	}
	if trend1 == trend0 {
		t.Errorf("the trend's 2025Q2 total stayed %s", trend0)
	}
	if want := ranking(); !slices.Equal(shown, want) {
		t.Errorf("ranking shown %v, ListIndex %v", shown, want)
	}
	shoot("after-ingest.png")

	do(chromedp.Navigate(e.web.URL+"/province/440000"), chromedp.WaitVisible(chromedp.CSS("#province svg.ranking")))
	shoot("province.png")
}
