package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/computescale/computescale/estimator"
)

// methodologyDoc is the stored JSON form of an estimator.Methodology. It
// mirrors the domain type field by field with its own tags and plain numbers
// for the enumerations, so that renaming a domain field, or giving an
// enumeration a MarshalText method, cannot change what old versions decode
// to: stored versions are never rewritten.
type methodologyDoc struct {
	Version           uint64                 `json:"version"`
	Created           int64                  `json:"created_unix_nanos"`
	Description       string                 `json:"description,omitempty"`
	Hierarchy         weightNodeDoc          `json:"hierarchy"`
	Norm              uint8                  `json:"norm"`
	Indicators        map[string]normSpecDoc `json:"indicators,omitempty"`
	Scope             uint8                  `json:"scope"`
	BaseYear          int                    `json:"base_year"`
	Aggregation       uint8                  `json:"aggregation"`
	CoverageThreshold float64                `json:"coverage_threshold"`
	Factors           factorsDoc             `json:"factors"`
	FirstTierAbove    float64                `json:"first_tier_above"`
	SecondTierMaxRank int                    `json:"second_tier_max_rank"`
	AllowInconsistent bool                   `json:"allow_inconsistent,omitempty"`
	// Absent in versions stored before plausibility bounds existed: they
	// decode to the defaults.
	Plausibility *plausibilityDoc `json:"plausibility,omitempty"`
}

type plausibilityDoc struct {
	MaxGrowthFactor float64               `json:"max_growth_factor,omitempty"`
	Ranges          map[string][2]float64 `json:"ranges,omitempty"` // indicator: [min, max]
	Growth          map[string]float64    `json:"growth,omitempty"` // indicator: its own growth factor
}

// weightNodeDoc is a WeightNode. Weights, Matrix and Experts keep the
// difference between nil and empty that the estimator gives meaning to
// ("not given" against "given, and wrong"), so they are not omitempty: a
// methodology that passed Weights never has an empty one, and null decodes
// back to nil.
type weightNodeDoc struct {
	Code     string          `json:"code"`
	Children []weightNodeDoc `json:"children,omitempty"`
	Weights  []float64       `json:"weights"`
	Matrix   [][]float64     `json:"matrix"`
	Experts  []expertDoc     `json:"experts"`
	Method   uint8           `json:"method,omitempty"`
}

type expertDoc struct {
	Weight float64     `json:"weight"`
	Matrix [][]float64 `json:"matrix"`
}

type normSpecDoc struct {
	Method uint8   `json:"method"`
	Target float64 `json:"target,omitempty"`
	Lo     float64 `json:"lo,omitempty"`
	Hi     float64 `json:"hi,omitempty"`
}

type factorsDoc struct {
	FP16              float64 `json:"fp16"`
	FP64              float64 `json:"fp64"`
	IncludeAIHostCPUs bool    `json:"include_ai_host_cpus,omitempty"`
}

// encodeMethodology returns m's stored form.
func encodeMethodology(m estimator.Methodology) ([]byte, error) {
	d := methodologyDoc{
		Version: m.Version, Created: m.Created.UnixNano(), Description: m.Description,
		Hierarchy: nodeDoc(m.Hierarchy), Norm: uint8(m.Norm), Scope: uint8(m.Scope),
		BaseYear: m.BaseYear, Aggregation: uint8(m.Aggregation), CoverageThreshold: m.CoverageThreshold,
		Factors:        factorsDoc{m.Factors.FP16, m.Factors.FP64, m.Factors.IncludeAIHostCPUs},
		FirstTierAbove: m.FirstTierAbove, SecondTierMaxRank: m.SecondTierMaxRank,
		AllowInconsistent: m.AllowInconsistent,
	}
	if p := m.Plausibility; p.MaxGrowthFactor != 0 || len(p.Ranges) > 0 {
		d.Plausibility = &plausibilityDoc{MaxGrowthFactor: p.MaxGrowthFactor}
		for code, r := range p.Ranges {
			if d.Plausibility.Ranges == nil {
				d.Plausibility.Ranges = map[string][2]float64{}
			}
			d.Plausibility.Ranges[code] = [2]float64{r.Min, r.Max}
			if r.GrowthFactor != 0 {
				if d.Plausibility.Growth == nil {
					d.Plausibility.Growth = map[string]float64{}
				}
				d.Plausibility.Growth[code] = r.GrowthFactor
			}
		}
	}
	if m.Indicators != nil {
		d.Indicators = make(map[string]normSpecDoc, len(m.Indicators))
		for code, s := range m.Indicators {
			d.Indicators[code] = normSpecDoc{uint8(s.Method), s.Target, s.Lo, s.Hi}
		}
	}
	return json.Marshal(d)
}

func nodeDoc(n estimator.WeightNode) weightNodeDoc {
	d := weightNodeDoc{Code: n.Code, Weights: n.Weights, Matrix: n.Matrix, Method: uint8(n.Method)}
	for _, c := range n.Children {
		d.Children = append(d.Children, nodeDoc(c))
	}
	for _, e := range n.Experts {
		d.Experts = append(d.Experts, expertDoc{e.Weight, e.Matrix})
	}
	if n.Experts != nil && d.Experts == nil {
		d.Experts = []expertDoc{}
	}
	return d
}

// decodeMethodology decodes a stored version into fresh memory.
func decodeMethodology(v []byte) (estimator.Methodology, error) {
	var d methodologyDoc
	if err := json.Unmarshal(v, &d); err != nil {
		return estimator.Methodology{}, fmt.Errorf("store: decode methodology: %w", err)
	}
	m := estimator.Methodology{
		Version: d.Version, Created: time.Unix(0, d.Created).UTC(), Description: d.Description,
		Hierarchy: weightNode(d.Hierarchy), Norm: estimator.NormMethod(d.Norm),
		Scope: estimator.BoundsScope(d.Scope), BaseYear: d.BaseYear,
		Aggregation: estimator.Aggregation(d.Aggregation), CoverageThreshold: d.CoverageThreshold,
		Factors:        estimator.Factors{FP16: d.Factors.FP16, FP64: d.Factors.FP64, IncludeAIHostCPUs: d.Factors.IncludeAIHostCPUs},
		FirstTierAbove: d.FirstTierAbove, SecondTierMaxRank: d.SecondTierMaxRank,
		AllowInconsistent: d.AllowInconsistent,
	}
	if p := d.Plausibility; p != nil {
		m.Plausibility.MaxGrowthFactor = p.MaxGrowthFactor
		for code, r := range p.Ranges {
			if m.Plausibility.Ranges == nil {
				m.Plausibility.Ranges = map[string]estimator.Range{}
			}
			m.Plausibility.Ranges[code] = estimator.Range{Min: r[0], Max: r[1], GrowthFactor: p.Growth[code]}
		}
	}
	if d.Indicators != nil {
		m.Indicators = make(map[string]estimator.NormSpec, len(d.Indicators))
		for code, s := range d.Indicators {
			m.Indicators[code] = estimator.NormSpec{Method: estimator.NormMethod(s.Method), Target: s.Target, Lo: s.Lo, Hi: s.Hi}
		}
	}
	return m, nil
}

func weightNode(d weightNodeDoc) estimator.WeightNode {
	n := estimator.WeightNode{Code: d.Code, Weights: d.Weights, Matrix: d.Matrix, Method: estimator.AHPMethod(d.Method)}
	for _, c := range d.Children {
		n.Children = append(n.Children, weightNode(c))
	}
	for _, e := range d.Experts {
		n.Experts = append(n.Experts, estimator.ExpertMatrix{Weight: e.Weight, Matrix: e.Matrix})
	}
	if d.Experts != nil && n.Experts == nil {
		n.Experts = []estimator.ExpertMatrix{}
	}
	return n
}
