package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// page is what the page template shows.
type page struct {
	Title       string
	Nonce       string
	Revision    uint64
	Methodology uint64
	Form        *form
	Provinces   []option
	Sections    []section
}

// form is the overview's and the province page's selection.
type form struct {
	Action     string
	Years      []option
	Dimensions []option // empty on province pages
}

type option struct {
	Value, Label string
	Selected     bool
}

// section is one live part of a page: its fragment URL, the event kinds
// that make the script re-fetch it, and its first rendering.
type section struct {
	ID, Fragment, Kinds string
	HTML                template.HTML
}

// fragment is a rendered part with the revision and methodology it reflects.
type fragment struct {
	html        template.HTML
	rev, method uint64
}

// errNoData marks a part with nothing to show yet; it renders as a note.
var errNoData = errors.New("no data")

// Kinds of watch events, as the event stream names them (events.go).
const (
	kindsRanking  = "index_score methodology"
	kindsTrend    = "compute"
	kindsProvince = "compute index_score methodology"
	// The rank-uncertainty charts follow the server's kept analyses, which
	// it recomputes after the writes that move scores.
	kindsUncertainty = "uncertainty"
)

func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	year, err := h.indexYear(ctx, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	dim := r.URL.Query().Get("dimension")
	years, err := h.yearOptions(ctx, year)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := page{Title: "Compute scale and compute development index", Form: &form{Action: "/", Years: years}}
	p.Form.Dimensions = append(p.Form.Dimensions, option{Value: "", Label: "composite index", Selected: dim == ""})
	for _, d := range Dimensions {
		p.Form.Dimensions = append(p.Form.Dimensions, option{Value: d.Code, Label: d.Name + " sub-index", Selected: d.Code == dim})
	}
	p.Provinces = provinceOptions("")
	f, err := h.ranking(ctx, year, dim)
	p.add(h, r, section{ID: "ranking", Fragment: "/fragment/ranking?" + yearQuery(year, "dimension", dim), Kinds: kindsRanking}, f, err)
	f, err = h.trend(ctx, "")
	p.add(h, r, section{ID: "trend", Fragment: "/fragment/trend", Kinds: kindsTrend}, f, err)
	f, err = h.relationship(ctx, year)
	p.add(h, r, section{ID: "relationship", Fragment: "/fragment/relationship?" + yearQuery(year), Kinds: kindsRanking}, f, err)
	f, err = h.uncertainty(ctx, year)
	p.add(h, r, section{ID: "uncertainty", Fragment: "/fragment/uncertainty?" + yearQuery(year), Kinds: kindsUncertainty}, f, err)
	h.writePage(w, r, p)
}

func (h *Handler) province(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	prov, err := h.srv.GetProvinceCompute(ctx, &pb.GetProvinceComputeRequest{Province: r.PathValue("code"), Year: int32(h.now().Year())})
	if status.Code(err) == codes.InvalidArgument {
		h.errorPage(w, r, http.StatusNotFound, "No such province: "+r.PathValue("code"))
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	year, err := h.indexYear(ctx, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	code := prov.GetTotals().GetProvince().GetCode()
	years, err := h.yearOptions(ctx, year)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := page{Title: ProvinceLabel(prov.GetTotals().GetProvince()), Form: &form{Action: "/province/" + code, Years: years},
		Provinces: provinceOptions(code)}
	f, err := h.provinceParts(ctx, code, year)
	p.add(h, r, section{ID: "province", Fragment: "/fragment/province/" + code + "?" + yearQuery(year), Kinds: kindsProvince}, f, err)
	f, err = h.sensitivity(ctx, code, year)
	p.add(h, r, section{ID: "sensitivity", Fragment: "/fragment/sensitivity/" + code + "?" + yearQuery(year), Kinds: kindsUncertainty}, f, err)
	h.writePage(w, r, p)
}

// yearQuery is the query of a fragment URL: the year shown, so that the
// part stays on it, unless none has scores yet (0), in which case the
// fragment finds the latest each time; then extra name/value pairs.
func yearQuery(year int, extra ...string) string {
	q := url.Values{}
	if year != 0 {
		q.Set("year", fmt.Sprint(year))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q.Encode()
}

// add appends a section, showing a part that failed as a note in its place
// (the rest of the page still shows).
func (p *page) add(h *Handler, r *http.Request, s section, f fragment, err error) {
	if err != nil {
		f.html = h.errorNote(r.Context(), err)
	}
	p.Revision = max(p.Revision, f.rev)
	p.Methodology = max(p.Methodology, f.method)
	s.HTML = f.html
	p.Sections = append(p.Sections, s)
}

func (h *Handler) rankingFragment(w http.ResponseWriter, r *http.Request) {
	year, err := h.indexYear(r.Context(), r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f, err := h.ranking(r.Context(), year, r.URL.Query().Get("dimension"))
	h.writeFragment(w, r, f, err)
}

func (h *Handler) trendFragment(w http.ResponseWriter, r *http.Request) {
	f, err := h.trend(r.Context(), "")
	h.writeFragment(w, r, f, err)
}

func (h *Handler) relationshipFragment(w http.ResponseWriter, r *http.Request) {
	year, err := h.indexYear(r.Context(), r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f, err := h.relationship(r.Context(), year)
	h.writeFragment(w, r, f, err)
}

func (h *Handler) uncertaintyFragment(w http.ResponseWriter, r *http.Request) {
	year, err := h.indexYear(r.Context(), r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f, err := h.uncertainty(r.Context(), year)
	h.writeFragment(w, r, f, err)
}

func (h *Handler) sensitivityFragment(w http.ResponseWriter, r *http.Request) {
	year, err := h.indexYear(r.Context(), r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f, err := h.sensitivity(r.Context(), r.PathValue("code"), year)
	h.writeFragment(w, r, f, err)
}

// uncertainty is the rank-interval chart of year's kept analysis.
func (h *Handler) uncertainty(ctx context.Context, year int) (fragment, error) {
	if year == 0 {
		return fragment{}, fmt.Errorf("%w: no index scores yet", errNoData)
	}
	resp, err := LoadUncertainty(ctx, h.srv, year)
	if err != nil {
		return fragment{}, err
	}
	ri := RankIntervalsFrom(resp)
	ri.Link = "/province/"
	return h.svgFragment(ri.Revision, ri.Methodology, func(w io.Writer) error { return RenderRankIntervals(w, ri) })
}

// sensitivity is one province's Sobol indices in year's kept analysis.
func (h *Handler) sensitivity(ctx context.Context, code string, year int) (fragment, error) {
	if year == 0 {
		return fragment{}, fmt.Errorf("%w: no index scores yet", errNoData)
	}
	p, ok := estimator.LookupProvince(code)
	if !ok {
		return fragment{}, status.Errorf(codes.InvalidArgument, "no such province: %s", code)
	}
	resp, err := LoadUncertainty(ctx, h.srv, year)
	if err != nil {
		return fragment{}, err
	}
	rk, ok := Sensitivity(resp, fmt.Sprint(p.Code))
	if !ok || len(rk.Bars) == 0 {
		return fragment{rev: resp.GetRun().GetRevision()}, fmt.Errorf("%w: no choice varied in the analysis of %d", errNoData, year)
	}
	return h.svgFragment(rk.Revision, rk.Methodology, func(w io.Writer) error { return RenderRanking(w, rk) })
}

func (h *Handler) provinceFragment(w http.ResponseWriter, r *http.Request) {
	year, err := h.indexYear(r.Context(), r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f, err := h.provinceParts(r.Context(), r.PathValue("code"), year)
	h.writeFragment(w, r, f, err)
}

// indexYear is the ?year= parameter, or the latest year with scores.
func (h *Handler) indexYear(ctx context.Context, r *http.Request) (int, error) {
	if s := r.URL.Query().Get("year"); s != "" {
		y, err := strconv.Atoi(s)
		if err != nil {
			return 0, status.Errorf(codes.InvalidArgument, "year %q is not a number", s)
		}
		return y, nil
	}
	return LatestIndexYear(ctx, h.srv, h.now().Year()+1)
}

// yearOptions offers the years with index scores, newest first, and the
// year asked for if it has none (so that the menu shows what the page
// shows).
func (h *Handler) yearOptions(ctx context.Context, selected int) ([]option, error) {
	years, err := IndexYears(ctx, h.srv, h.now().Year()+1)
	if err != nil {
		return nil, err
	}
	var out []option
	for _, y := range years {
		out = append(out, option{Value: fmt.Sprint(y), Label: fmt.Sprint(y), Selected: y == selected})
	}
	if !slices.ContainsFunc(out, func(o option) bool { return o.Selected }) && selected != 0 {
		out = append(out, option{Value: fmt.Sprint(selected), Label: fmt.Sprint(selected) + " (no scores)", Selected: true})
	}
	return out, nil
}

func (h *Handler) ranking(ctx context.Context, year int, dim string) (fragment, error) {
	if year == 0 {
		return fragment{}, fmt.Errorf("%w: no index scores yet", errNoData)
	}
	rk, err := LoadRanking(ctx, h.srv, year, dim)
	if err != nil {
		return fragment{}, err
	}
	if !slices.ContainsFunc(rk.Bars, func(b Bar) bool { return b.Present }) {
		return fragment{rev: rk.Revision, method: rk.Methodology}, fmt.Errorf("%w: no index scores for %d", errNoData, year)
	}
	rk.Link = "/province/"
	rk.Subtitle = "bars link to each province's page"
	return h.svgFragment(rk.Revision, rk.Methodology, func(w io.Writer) error { return RenderRanking(w, rk) })
}

func (h *Handler) trend(ctx context.Context, province string) (fragment, error) {
	end, ok, err := LatestData(ctx, h.srv, h.now().Year()+1)
	if err != nil {
		return fragment{}, err
	}
	if !ok {
		return fragment{}, fmt.Errorf("%w: no shipments yet", errNoData)
	}
	tr, err := LoadTrend(ctx, h.srv, province, end)
	if err != nil {
		return fragment{}, err
	}
	return h.svgFragment(tr.Revision, 0, func(w io.Writer) error { return RenderTrend(w, tr) })
}

func (h *Handler) relationship(ctx context.Context, year int) (fragment, error) {
	if year == 0 {
		return fragment{}, fmt.Errorf("%w: no index scores yet", errNoData)
	}
	rel, err := LoadRelationship(ctx, h.srv, year)
	if err != nil {
		return fragment{}, err
	}
	return h.svgFragment(rel.Revision, rel.Methodology, func(w io.Writer) error { return RenderRelationship(w, rel) })
}

// provinceParts is a province's trend chart, its totals table and its index
// scores for year.
func (h *Handler) provinceParts(ctx context.Context, code string, year int) (fragment, error) {
	end, ok, err := LatestData(ctx, h.srv, h.now().Year()+1)
	if err != nil {
		return fragment{}, err
	}
	if !ok {
		return fragment{}, fmt.Errorf("%w: no shipments yet", errNoData)
	}
	tr, err := LoadTrend(ctx, h.srv, code, end)
	if err != nil {
		return fragment{}, err
	}
	var b strings.Builder
	if err := RenderTrend(&b, tr); err != nil {
		return fragment{}, err
	}
	if err := templates.ExecuteTemplate(&b, "totals", totalsTable(tr)); err != nil {
		return fragment{}, err
	}
	f := fragment{rev: tr.Revision}
	scores, err := LoadScores(ctx, h.srv, code, year)
	switch {
	case err == nil && scores.Bars[0].Present:
		if err := RenderRanking(&b, scores); err != nil {
			return fragment{}, err
		}
		f.rev, f.method = max(f.rev, scores.Revision), scores.Methodology
	case err == nil:
		fmt.Fprintf(&b, `<p class="note">No index score for %d.</p>`, year)
	default:
		b.WriteString(string(h.errorNote(ctx, err)))
	}
	years, err := IndexYears(ctx, h.srv, h.now().Year()+1)
	if err == nil && len(years) > 0 {
		var st Ranking
		if st, err = LoadScoreTrend(ctx, h.srv, code, years); err == nil {
			err = RenderRanking(&b, st)
			f.rev = max(f.rev, st.Revision)
		}
	}
	if err != nil {
		b.WriteString(string(h.errorNote(ctx, err)))
	}
	f.html = template.HTML(b.String()) // every part above is template output or escaped
	return f, nil
}

func (h *Handler) svgFragment(rev, method uint64, fn func(io.Writer) error) (fragment, error) {
	s, err := svgString(fn)
	return fragment{html: s, rev: rev, method: method}, err
}

// totalsRow is one line of a province's totals table.
type totalsRow struct {
	Period, Basic, AI, Super, Total, Growth string
	Records                                 int64
}

func totalsTable(tr Trend) []totalsRow {
	var rows []totalsRow
	for _, p := range slices.Backward(tr.Points) {
		rows = append(rows, totalsRow{Period: p.Label, Basic: num(p.Now.Basic), AI: num(p.Now.AI), Super: fmt.Sprintf("%.3f", p.Now.Super),
			Total: num(p.Now.Total()), Growth: totalGrowth(p.Now, p.Prev), Records: p.Records})
	}
	return rows
}

// provinceOptions lists the 31 provinces for the navigation menu.
func provinceOptions(selected string) []option {
	var out []option
	for _, p := range estimator.Provinces() {
		code := fmt.Sprint(p.Code)
		out = append(out, option{Value: code, Label: p.Name + " " + p.NameZH, Selected: code == selected})
	}
	return out
}
