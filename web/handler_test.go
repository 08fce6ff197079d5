package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/web"
)

// get fetches path with an optional bearer token and cookie, without
// following redirects.
func get(t *testing.T, e *env, method, path, token string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.web.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestAuth(t *testing.T) {
	e := newEnv(t, loadNothing)
	t.Run("ErrNoToken", func(t *testing.T) {
		resp, body := get(t, e, "GET", "/", "")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "?token=") || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%d %q\n%s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
	})
	t.Run("ErrUnknownToken", func(t *testing.T) {
		for _, path := range []string{"/?token=wrong-token-0123456789", "/events", "/fragment/trend"} {
			resp, body := get(t, e, "GET", path, "wrong-token-0123456789")
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Unknown token") {
				t.Errorf("%s: %d\n%s", path, resp.StatusCode, body)
			}
		}
	})
	t.Run("OKBearerAnyRole", func(t *testing.T) {
		for _, token := range []string{readerToken, vendorToken, adminToken} {
			resp, body := get(t, e, "GET", "/", token)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="revision"`) {
				t.Errorf("%s: %d\n%s", token, resp.StatusCode, body)
			}
		}
	})
	t.Run("OKCookieFlow", func(t *testing.T) {
		resp, _ := get(t, e, "GET", "/province/CN-GD?year=2024&token="+readerToken, "")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/province/CN-GD?year=2024" {
			t.Fatalf("%d, Location %q: want 303 to the URL without the token", resp.StatusCode, resp.Header.Get("Location"))
		}
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == web.CookieName {
				cookie = c
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || strings.Contains(cookie.Value, readerToken) {
			t.Fatalf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, the token encoded", cookie)
		}
		resp, body := get(t, e, "GET", resp.Header.Get("Location"), "", cookie)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Guangdong 广东") {
			t.Errorf("with the cookie: %d\n%s", resp.StatusCode, body)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(body, `<script nonce="`) {
			t.Errorf("CSP %q; the script must carry the nonce", csp)
		}
	})
	t.Run("ErrStaleCookie", func(t *testing.T) {
		resp, _ := get(t, e, "GET", "/", "", &http.Cookie{Name: web.CookieName, Value: "c3RhbGU"})
		if resp.StatusCode != http.StatusUnauthorized || !slices.ContainsFunc(resp.Cookies(), func(c *http.Cookie) bool { return c.Name == web.CookieName && c.MaxAge < 0 }) {
			t.Errorf("%d, cookies %v: want 401 and the cookie cleared", resp.StatusCode, resp.Cookies())
		}
	})
	t.Run("ErrMethod", func(t *testing.T) {
		for _, m := range []string{"POST", "PUT", "DELETE"} {
			resp, _ := get(t, e, m, "/", readerToken)
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s: %d, Allow %q", m, resp.StatusCode, resp.Header.Get("Allow"))
			}
		}
	})
	t.Run("OKHead", func(t *testing.T) {
		resp, body := get(t, e, "HEAD", "/", readerToken)
		if resp.StatusCode != http.StatusOK || body != "" {
			t.Errorf("%d %q", resp.StatusCode, body)
		}
	})
	t.Run("OKEmptyStore", func(t *testing.T) {
		_, body := get(t, e, "GET", "/", readerToken)
		if !strings.Contains(body, "no index scores yet") || !strings.Contains(body, "no shipments yet") {
			t.Errorf("an empty store should say so:\n%s", body)
		}
		if strings.Contains(body, "year=0") {
			t.Error("with no scores yet, fragments must find the latest year themselves")
		}
		// Fragments say so too, with 200: the script swaps the note in.
		for path, want := range map[string]string{"/fragment/trend": "no shipments yet", "/fragment/ranking": "no index scores yet", "/fragment/relationship": "no index scores yet"} {
			resp, body := get(t, e, "GET", path, readerToken)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("%s: %d\n%s", path, resp.StatusCode, body)
			}
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		for _, path := range []string{"/nothing", "/province/Atlantis"} {
			if resp, _ := get(t, e, "GET", path, readerToken); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d", path, resp.StatusCode)
			}
		}
	})
}

var (
	barCodes   = regexp.MustCompile(`<g class="bar" data-code="(\d+)" data-rank="(\d*)" data-value="([^"]*)"`)
	yearChosen = regexp.MustCompile(`<option value="(\d+)" selected>`)
)

func TestFragments(t *testing.T) {
	e := newEnv(t, loadDemo)
	ctx := context.Background()
	for _, dim := range []string{"", "scale", "industry", "tech", "env", "app"} {
		t.Run("OKRanking"+dim, func(t *testing.T) {
			want, err := e.reader.ListIndex(ctx, 2024, dim, 0)
			if err != nil {
				t.Fatal(err)
			}
			resp, body := get(t, e, "GET", "/fragment/ranking?year=2024&dimension="+dim, readerToken)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d\n%s", resp.StatusCode, body)
			}
			bars := barCodes.FindAllStringSubmatch(body, -1)
			if len(bars) != 31 {
				t.Fatalf("%d bars, want 31", len(bars))
			}
			for i, s := range want {
				v := s.GetComposite()
				if dim != "" {
					for _, d := range s.GetDimensions() {
						if d.GetDimension() == dim {
							v = d.GetScore()
						}
					}
				}
				if wantV := chartNum(v); bars[i][3] != wantV || bars[i][1] != s.GetProvince().GetCode() {
					t.Errorf("bar %d: %s %s, want %s %s (ListIndex order)", i, bars[i][1], bars[i][3], s.GetProvince().GetCode(), wantV)
				}
				if !strings.Contains(body, web.ProvinceLabel(s.GetProvince())) {
					t.Errorf("no label %q", web.ProvinceLabel(s.GetProvince()))
				}
			}
		})
	}
	t.Run("ErrDimension", func(t *testing.T) {
		resp, body := get(t, e, "GET", "/fragment/ranking?year=2024&dimension=fun", readerToken)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "fun") {
			t.Errorf("%d\n%s", resp.StatusCode, body)
		}
	})
	t.Run("OKYearWithoutScores", func(t *testing.T) {
		_, body := get(t, e, "GET", "/?year=2025", readerToken)
		if !strings.Contains(body, "no index scores for 2025") {
			t.Errorf("a year without scores should say so:\n%s", body)
		}
	})
	t.Run("ErrYear", func(t *testing.T) {
		if resp, _ := get(t, e, "GET", "/?year=twenty", readerToken); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%d", resp.StatusCode)
		}
	})
	t.Run("OKTrend", func(t *testing.T) {
		nat, err := e.reader.NationalCompute(ctx, 2025, 2)
		if err != nil {
			t.Fatal(err)
		}
		_, body := get(t, e, "GET", "/fragment/trend", readerToken)
		want := fmt.Sprintf(`data-period="2025Q2" data-total="%.1f"`, nat.GetTotalFp32EquivalentEflops())
		containsInOrder(t, body, `data-period="2019"`, `data-period="2023"`, `data-period="2024"`, want)
		if strings.Contains(body, `data-period="2025"`) {
			t.Error("2025 is not over: its year end must not be a bar")
		}
	})
	t.Run("OKRelationship", func(t *testing.T) {
		rel, err := e.reader.AnalyzeRelationship(ctx, 2024, pb.RelationshipTarget_RELATIONSHIP_TARGET_GDP, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, body := get(t, e, "GET", "/fragment/relationship?year=2024", readerToken)
		if want := fmt.Sprintf("R² = %.3f   n = %d", rel.GetRSquared(), rel.GetN()); !strings.Contains(body, want) {
			t.Errorf("missing %q:\n%s", want, body)
		}
	})
	t.Run("OKOverviewDefaultsToLatestScores", func(t *testing.T) {
		_, body := get(t, e, "GET", "/", readerToken)
		if m := yearChosen.FindStringSubmatch(body); m == nil || m[1] != "2024" {
			t.Errorf("year chosen %v, want 2024", m)
		}
		for _, id := range []string{`id="ranking"`, `id="trend"`, `id="relationship"`, "methodology v<strong id=\"methodology\">2</strong>"} {
			if !strings.Contains(body, id) {
				t.Errorf("missing %s", id)
			}
		}
	})
	t.Run("OKProvince", func(t *testing.T) {
		score, err := e.reader.Index(ctx, "CN-GD", 2024, 0)
		if err != nil {
			t.Fatal(err)
		}
		tot, err := e.reader.ProvinceCompute(ctx, "CN-GD", 2024, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/province/CN-GD", "/province/广东", "/fragment/province/440000?year=2024"} {
			resp, body := get(t, e, "GET", path, readerToken)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d", path, resp.StatusCode)
			}
			containsInOrder(t, body, "Guangdong 广东: compute scale by kind", fmt.Sprintf("<td>2024</td><td>%.2f</td>", tot.GetBasicFp32Eflops()),
				"Guangdong 广东: index scores 2024", `data-value="`+chartNum(score.GetComposite())+`"`)
		}
	})
}

// chartNum is how the charts write a value: two decimals, one from 100.
func chartNum(v float64) string {
	if v >= 100 || v <= -100 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// sse reads a server-sent event stream into events.
type sseEvent struct{ name, data string }

func readEvents(t *testing.T, body io.Reader) <-chan sseEvent {
	ch := make(chan sseEvent, 64)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "" && (ev.name != "" || ev.data != ""):
				ch <- ev
				ev = sseEvent{}
			case strings.HasPrefix(line, ": "):
				ch <- sseEvent{name: "comment", data: line[2:]}
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			}
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan sseEvent, name string) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended before %q", name)
			}
			if ev.name == name {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %q event within 10 s", name)
		}
	}
}

// openEvents opens the event stream as the reader.
func openEvents(ctx context.Context, t *testing.T, e *env) <-chan sseEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.web.URL+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+readerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, ct)
	}
	return readEvents(t, resp.Body)
}

func waitNoSubscribers(t *testing.T, e *env) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); e.srv.Subscribers() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the watch outlived the event stream")
		}
	}
}

func TestEvents(t *testing.T) {
	e := newEnv(t, loadCatalog)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := openEvents(ctx, t, e)
	var hello, change struct {
		Revision uint64
		Kinds    []string
	}
	if err := json.Unmarshal([]byte(next(t, events, "hello").data), &hello); err != nil {
		t.Fatal(err)
	}
	rev := e.ingest(ctx, t, aiServers("sse-1", "Xizang", 10))
	if err := json.Unmarshal([]byte(next(t, events, "change").data), &change); err != nil {
		t.Fatal(err)
	}
	if change.Revision != rev || change.Revision <= hello.Revision || !slices.Contains(change.Kinds, "compute") {
		t.Errorf("change %+v after hello %+v, want revision %d with compute", change, hello, rev)
	}
	if ev := next(t, events, "comment"); ev.data != "ping" {
		t.Errorf("comment %q, want ping", ev.data)
	}
	// The browser leaving ends the stream and its in-process watch.
	if n := e.srv.Subscribers(); n != 1 {
		t.Errorf("%d watch subscribers while streaming, want 1", n)
	}
	cancel()
	waitNoSubscribers(t, e)

	// Close ends the streams that are open, for a prompt http.Server.Shutdown.
	events = openEvents(context.Background(), t, e)
	next(t, events, "hello")
	e.handler.Close()
	for timeout := time.After(10 * time.Second); ; {
		select {
		case _, ok := <-events:
			if ok {
				continue
			}
		case <-timeout:
			t.Fatal("Close left the event stream open")
		}
		break
	}
	waitNoSubscribers(t, e)
}
