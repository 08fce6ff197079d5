package web

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// describe maps a query's error to an HTTP status and a message fit to
// show: the handlers' messages for client errors are meant for callers;
// anything else is logged and shown as a generic error, as the gRPC layer
// does.
func (h *Handler) describe(ctx context.Context, err error) (int, string) {
	if errors.Is(err, errNoData) {
		return http.StatusNotFound, strings.TrimPrefix(err.Error(), errNoData.Error()+": ")
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.InvalidArgument, codes.OutOfRange, codes.FailedPrecondition:
		return http.StatusBadRequest, withViolations(st)
	case codes.NotFound:
		return http.StatusNotFound, st.Message()
	case codes.Unavailable:
		return http.StatusServiceUnavailable, "the server is shutting down or busy; try again"
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout, "the query took too long"
	case codes.Canceled:
		return 499, "request cancelled"
	}
	h.log.ErrorContext(ctx, "dashboard query failed", slog.Any("error", err))
	return http.StatusInternalServerError, "internal error"
}

// withViolations is a status's message followed by the field violations of
// its BadRequest detail, which say what was wrong with which parameter.
func withViolations(st *status.Status) string {
	msg := st.Message()
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				msg += "; " + v.GetField() + ": " + v.GetDescription()
			}
		}
	}
	return msg
}

// fail writes the error page for a query's error.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := h.describe(r.Context(), err)
	if code == 499 {
		return // the browser went away
	}
	h.errorPage(w, r, code, msg)
}

// errorNote is a part of a page that could not be drawn, in its place.
func (h *Handler) errorNote(ctx context.Context, err error) template.HTML {
	_, msg := h.describe(ctx, err)
	var b strings.Builder
	templates.ExecuteTemplate(&b, "note", msg)
	return template.HTML(b.String()) // template output, escaped
}

// errorPage writes a whole page saying what went wrong.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	err := templates.ExecuteTemplate(w, "error.html.tmpl", struct {
		Code        int
		Status, Msg string
		Nonce       string
	}{code, http.StatusText(code), msg, nonceOf(r)})
	if err != nil {
		h.log.Error("render error page", slog.Any("error", err))
	}
}

// writePage renders a whole page.
func (h *Handler) writePage(w http.ResponseWriter, r *http.Request, p page) {
	p.Nonce = nonceOf(r)
	var b strings.Builder
	if err := templates.ExecuteTemplate(&b, "page.html.tmpl", p); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(b.String()))
}

// writeFragment answers a fragment request with the part's HTML (which
// carries the revision and methodology it reflects in data attributes).
func (h *Handler) writeFragment(w http.ResponseWriter, r *http.Request, f fragment, err error) {
	if errors.Is(err, errNoData) {
		// Nothing to draw yet is a state of the store, not a failure: the
		// script swaps the note in like a chart.
		f, err = fragment{html: h.errorNote(r.Context(), err)}, nil
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(f.html))
}
