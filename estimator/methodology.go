package estimator

import (
	"fmt"
	"math"
	"time"
)

// Aggregation is how normalised scores are combined into dimension scores and
// the composite.
type Aggregation uint8

// The aggregations. Values are stored; never renumber.
const (
	AggArithmetic Aggregation = iota // weighted arithmetic mean (the blue book's)
	AggGeometric                     // weighted geometric mean
)

// BoundsScope says which values min-max and z-score bounds come from.
type BoundsScope uint8

// The scopes. Values are stored; never renumber.
const (
	ScopePerYear BoundsScope = iota // the 31 provinces of the scored year
	ScopePooled                     // every scored year's values together
)

// Methodology is everything that turns indicator values into index scores
// (METHOD.md sections 4-5), as a versioned document. The store assigns
// Version and Created.
type Methodology struct {
	Version     uint64
	Created     time.Time
	Description string
	// Hierarchy gives the weights: its leaves are indicator codes, a subset of
	// Indicators(), each at most once.
	Hierarchy WeightNode
	// Norm is the default normalisation; Indicators may override it per code
	// and carry targets and goalposts.
	Norm       NormMethod
	Indicators map[string]NormSpec
	Scope      BoundsScope
	// BaseYear is the year whose largest province value stands in for a
	// target that is not set (METHOD.md section 5, stage 3); 0 means the
	// scored year itself.
	BaseYear          int
	Aggregation       Aggregation
	CoverageThreshold float64 // 0..1; below it no score is produced
	Factors           Factors
	FirstTierAbove    float64 // composite strictly above this: first tier
	SecondTierMaxRank int     // ranks up to this, not first tier: second tier
	// AllowInconsistent accepts AHP matrices whose CR is 0.10 or more.
	AllowInconsistent bool
	// Plausibility bounds the observations a statistics feed may put.
	Plausibility Plausibility
}

// DefaultMethodology is the one every new store starts with: equal weights at
// every level (the blue book publishes no matrices), target scaling with the
// largest 2020 value standing in for every target, arithmetic aggregation,
// scores produced when at least 60 % of the weight is observed, METHOD.md's
// FP32-equivalent factors, the blue book's tiers (above 40; ranks up to 16).
func DefaultMethodology() Methodology {
	return Methodology{
		Description:       "default: equal weights at every level, target scaling against the largest 2020 value",
		Hierarchy:         DefaultHierarchy(),
		Norm:              NormTarget,
		Scope:             ScopePerYear,
		BaseYear:          2020,
		Aggregation:       AggArithmetic,
		CoverageThreshold: 0.6,
		Factors:           DefaultFactors(),
		FirstTierAbove:    40,
		SecondTierMaxRank: 16,
	}
}

// Weights validates m and returns each leaf's global weight and how every
// node's weights came about. An AHP node whose consistency ratio is 0.10 or
// more fails with EFailedPrecondition, naming the node, unless
// AllowInconsistent is set.
func (m Methodology) Weights() (map[string]float64, []NodeResult, error) {
	weights, nodes, err := SynthesizeWeights(m.Hierarchy)
	if err != nil {
		return nil, nil, err
	}
	var vs []FieldViolation
	bad := func(field, format string, args ...any) {
		vs = append(vs, FieldViolation{field, fmt.Sprintf(format, args...)})
	}
	for code := range weights {
		if ind, ok := LookupIndicator(code); !ok || ind.Dimension == "" {
			bad("hierarchy", "leaf %q is not an index indicator", code)
		}
	}
	for code, spec := range m.Indicators {
		f := "indicators[" + code + "]."
		if _, ok := weights[code]; !ok {
			bad(f+"code", "indicator %q is not a leaf of the hierarchy", code)
		}
		if spec.Target < 0 || math.IsNaN(spec.Target) || math.IsInf(spec.Target, 0) {
			bad(f+"target", "target must be positive and finite (0 = not set)")
		}
		if spec.Method == NormGoalposts && !(spec.Hi > spec.Lo) {
			bad(f+"high", "goalposts need high > low")
		}
	}
	if m.Norm == NormGoalposts {
		bad("normalization.method", "goalposts need posts per indicator; set them in indicators")
	}
	if m.Norm > NormGoalposts {
		bad("normalization.method", "unknown method %d", m.Norm)
	}
	if m.Aggregation == AggGeometric && (m.Norm == NormZScore || m.methodUsed(NormZScore)) {
		bad("aggregation", "geometric aggregation cannot take z-scores, which can be negative")
	}
	if !(m.CoverageThreshold >= 0 && m.CoverageThreshold <= 1) {
		bad("coverage_threshold", "must be within 0..1")
	}
	vs = append(vs, m.Factors.Validate("factors.")...)
	if math.IsNaN(m.FirstTierAbove) || math.IsInf(m.FirstTierAbove, 0) {
		bad("first_tier_above", "must be finite")
	}
	if m.SecondTierMaxRank < 0 || m.SecondTierMaxRank > NumProvinces {
		bad("second_tier_max_rank", "must be within 0..%d", NumProvinces)
	}
	if m.BaseYear != 0 && (m.BaseYear < MinYear || m.BaseYear > 3000) {
		bad("base_year", "base year %d is out of range", m.BaseYear)
	}
	vs = append(vs, m.Plausibility.Validate()...)
	if err := Invalid("invalid methodology", vs); err != nil {
		return nil, nil, err
	}
	if !m.AllowInconsistent {
		for _, n := range nodes {
			if n.AHP != nil && !n.AHP.Acceptable {
				return nil, nil, &Error{Code: EFailedPrecondition,
					Message:    fmt.Sprintf("node %q: consistency ratio %.4f is not below %.2f; revise the judgements or set allow_inconsistent", n.Code, n.AHP.CR, AcceptableCR),
					Violations: []FieldViolation{{Field: "hierarchy" + dotPath(n.Path), Description: fmt.Sprintf("CR %.4f ≥ %.2f", n.AHP.CR, AcceptableCR)}}}
			}
		}
	}
	return weights, nodes, nil
}

func dotPath(p string) string {
	if p == "" {
		return ""
	}
	return "." + p
}

func (m Methodology) methodUsed(method NormMethod) bool {
	for _, s := range m.Indicators {
		if s.Method == method {
			return true
		}
	}
	return false
}

// spec is the normalisation of one indicator: its override, else the
// default method.
func (m Methodology) spec(code string) NormSpec {
	if s, ok := m.Indicators[code]; ok {
		return s
	}
	return NormSpec{Method: m.Norm}
}
