package web

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/computescale/computescale/server"
)

// CookieName is the cookie that carries the caller's token after a
// ?token= visit.
const CookieName = "computescale_token"

// authenticate finds the caller's token — an Authorization: Bearer header,
// else a token query parameter, else the cookie — and looks it up in the
// gRPC token table: any role may read the dashboard. A token that arrives in
// the query is moved into an HttpOnly, SameSite=Strict cookie and the
// browser is redirected to the same URL without it, so that the token stays
// out of the address bar, history and later URLs, and the page's own
// requests (fragments, the event stream) carry the cookie instead. The
// cookie holds the token itself, so that revoking it in the token file
// (SIGHUP) ends dashboard sessions too; it is base64url-encoded because a
// token may hold bytes that a cookie value may not. On failure it has written the 401
// page.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (server.Identity, bool) {
	token, fromQuery := bearer(r), false
	if token == "" {
		if token = r.URL.Query().Get("token"); token != "" {
			fromQuery = true
		}
	}
	fromCookie := false
	if token == "" {
		if c, err := r.Cookie(CookieName); err == nil {
			b, _ := base64.RawURLEncoding.DecodeString(c.Value)
			token, fromCookie = string(b), true
		}
	}
	id, ok := h.tokens.Lookup(token)
	if token == "" || !ok {
		if fromCookie {
			http.SetCookie(w, &http.Cookie{Name: CookieName, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="computescale"`)
		msg := "Open the dashboard with ?token=YOUR_TOKEN once (any role's token works), or send Authorization: Bearer YOUR_TOKEN."
		if token != "" {
			msg = "Unknown token. " + msg
		}
		h.errorPage(w, r, http.StatusUnauthorized, msg)
		return id, false
	}
	if fromQuery {
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: base64.RawURLEncoding.EncodeToString([]byte(token)), Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		http.Redirect(w, r, withoutToken(r.URL), http.StatusSeeOther)
		return id, false
	}
	return id, true
}

// bearer returns the token of an Authorization: Bearer header, or "".
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// withoutToken is u's path and query without the token parameter.
func withoutToken(u *url.URL) string {
	q := u.Query()
	q.Del("token")
	out := url.URL{Path: u.Path, RawQuery: q.Encode()}
	if out.Path == "" {
		out.Path = "/"
	}
	return out.String()
}
