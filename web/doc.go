// Package web is computescale's read-only dashboard: an http.Handler that
// shows, for a newcomer at a glance, what the blue book's charts show —
// the province rankings of the compute development index and its five
// sub-indices (figures 10-15), China's compute scale by kind with growth
// rates (figures 4-5), the index against GDP with its fitted line (figure
// 16) — and one page per province. The same SVG renderers write the files of
// `computescale report`.
//
// # One implementation of every query
//
// The handler holds no query logic of its own: every figure comes from
// calling the gRPC handlers' own methods (ListIndex, GetNationalCompute,
// GetProvinceCompute, GetIndex, GetMethodology, AnalyzeRelationship, Watch)
// in-process, through the Source and Server interfaces that *server.Server
// implements, with the authenticated caller attached by server.WithIdentity.
// The report command reaches the same methods over gRPC through package
// client; both then load (load.go) and draw (ranking.go, trend.go,
// relationship.go) with this package's code. In-process calls skip the gRPC
// interceptors, so the dashboard authenticates itself (auth.go) with the
// server's token table.
//
// # Why SVG drawn in Go
//
// Charts are SVG written server-side with html/template, which escapes every
// label, and coordinates computed in Go. That needs no JavaScript chart
// library (nothing to vendor, pin or serve, nothing fetched from a CDN, so
// the pages work offline and under a strict Content-Security-Policy), and the
// very same function writes a standalone .svg file for the report. Styling
// uses SVG presentation attributes rather than CSS, so a chart looks the
// same inline in a page (where CSP governs <style>) and as a file. PNG is
// left out: rasterising would need a heavy dependency, and SVG prints,
// scales and embeds everywhere the report goes.
//
// # Why server-sent events
//
// Live updates travel as server-sent events (GET /events): the dashboard
// only ever listens, so a one-way stream is all it needs; EventSource is
// built into browsers, reconnects by itself and sends the cookie, and SSE is
// plain HTTP that passes any proxy. gRPC-Web or Connect would need a
// JavaScript client library and, for gRPC-Web, a translating proxy, to get a
// server stream the browser cannot open natively. Each event is small — the
// revision and which kinds of data changed — and the page's script
// re-fetches only the HTML fragments those kinds affect (GET /fragment/...)
// and swaps them in, so the charts are always drawn by the server from a
// fresh read, never patched in the browser.
package web
