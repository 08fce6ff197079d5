package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"sync"
	"time"

	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/server"
)

// Server is what the dashboard calls in-process: the read methods of Source
// and the Watch stream. *server.Server implements it.
type Server interface {
	Source
	Watch(*pb.WatchRequest, pb.WatchService_WatchServer) error
}

// TokenLookup authenticates a bearer token; *server.Tokens implements it, so
// the dashboard accepts exactly the gRPC tokens, reloads included.
type TokenLookup interface {
	Lookup(token string) (server.Identity, bool)
}

// Config is what New needs. Server and Tokens are required.
type Config struct {
	Server Server
	Tokens TokenLookup
	Logger *slog.Logger // nil discards
	// Now is the clock that says which years to look for data in (default
	// time.Now).
	Now func() time.Time
	// PingInterval is how often an idle event stream hears a comment, so
	// that proxies keep it open (default 15 s).
	PingInterval time.Duration
}

// Handler serves the dashboard. Routes (GET and HEAD only):
//
//	/                          overview: ranking (?year=, ?dimension=), trend, index vs GDP
//	/province/{code}           one province (?year= for its index scores)
//	/fragment/ranking          the ranking chart alone (?year=, ?dimension=)
//	/fragment/trend            the national trend chart alone
//	/fragment/relationship     the index-vs-GDP chart alone (?year=)
//	/fragment/province/{code}  a province's charts and table alone (?year=)
//	/fragment/uncertainty      the rank-interval chart alone (?year=)
//	/fragment/sensitivity/{code}  a province's Sobol indices alone (?year=)
//	/events                    server-sent events: one per committed revision
type Handler struct {
	srv    Server
	tokens TokenLookup
	log    *slog.Logger
	now    func() time.Time
	ping   time.Duration
	mux    *http.ServeMux

	closing   chan struct{} // closed by Close: event streams end
	closeOnce sync.Once
}

// New returns the dashboard handler for cfg. It panics if cfg.Server or
// cfg.Tokens is nil, which is a wiring mistake rather than a runtime
// condition.
func New(cfg Config) *Handler {
	if cfg.Server == nil || cfg.Tokens == nil {
		panic("web.New: Config.Server and Config.Tokens are required")
	}
	h := &Handler{srv: cfg.Server, tokens: cfg.Tokens, log: cfg.Logger, now: cfg.Now, ping: cfg.PingInterval, mux: http.NewServeMux(),
		closing: make(chan struct{})}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.ping <= 0 {
		h.ping = 15 * time.Second
	}
	h.mux.HandleFunc("/{$}", h.overview)
	h.mux.HandleFunc("/province/{code}", h.province)
	h.mux.HandleFunc("/fragment/ranking", h.rankingFragment)
	h.mux.HandleFunc("/fragment/trend", h.trendFragment)
	h.mux.HandleFunc("/fragment/relationship", h.relationshipFragment)
	h.mux.HandleFunc("/fragment/province/{code}", h.provinceFragment)
	h.mux.HandleFunc("/fragment/uncertainty", h.uncertaintyFragment)
	h.mux.HandleFunc("/fragment/sensitivity/{code}", h.sensitivityFragment)
	h.mux.HandleFunc("/events", h.events)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.errorPage(w, r, http.StatusNotFound, "No such page: "+r.URL.Path)
	})
	return h
}

// Close ends every open event stream (browsers reconnect on their own,
// elsewhere or once the server is back). Call it before the http.Server's
// Shutdown, which otherwise waits for the streams, which never go idle;
// closing the gRPC Server first has the same effect, as it ends every watch.
func (h *Handler) Close() { h.closeOnce.Do(func() { close(h.closing) }) }

type nonceKey struct{}

// ServeHTTP refuses anything but GET and HEAD, authenticates the caller and
// routes. Every response forbids caching and framing and allows only this
// response's own inline script and style (by nonce) and requests to itself.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	nonce := newNonce()
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+
		"'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cache-Control", "no-store")
	r = r.WithContext(context.WithValue(r.Context(), nonceKey{}, nonce))
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		h.errorPage(w, r, http.StatusMethodNotAllowed, "The dashboard is read-only: use GET.")
		return
	}
	id, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	r = r.WithContext(server.WithIdentity(r.Context(), id))
	h.mux.ServeHTTP(w, r)
}

func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawStdEncoding.EncodeToString(b)
}

func nonceOf(r *http.Request) string {
	n, _ := r.Context().Value(nonceKey{}).(string)
	return n
}
