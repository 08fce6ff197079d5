package estimator

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
)

// FitLine fits y = slope·x + intercept by ordinary least squares
// (gonum's stat.LinearRegression) and reports R² (stat.RSquared) and how
// many pairs were used: the relationship of METHOD.md section 6, where x is
// the composite index of each province and y its digital-economy core output
// or GDP. Pairs with a NaN on either side are missing and skipped. It needs
// two pairs and some spread in x; when y has no spread R² is undefined and
// returned as NaN.
func FitLine(x, y []float64) (slope, intercept, r2 float64, n int, err error) {
	if len(x) != len(y) {
		return 0, 0, 0, 0, Invalid("bad series", []FieldViolation{{"y", fmt.Sprintf("%d values of y for %d of x", len(y), len(x))}})
	}
	var xs, ys []float64
	var vs []FieldViolation
	for i := range x {
		if math.IsInf(x[i], 0) {
			vs = append(vs, FieldViolation{fmt.Sprintf("x[%d]", i), "value is infinite; use NaN for missing"})
		}
		if math.IsInf(y[i], 0) {
			vs = append(vs, FieldViolation{fmt.Sprintf("y[%d]", i), "value is infinite; use NaN for missing"})
		}
		if !math.IsNaN(x[i]) && !math.IsNaN(y[i]) {
			xs, ys = append(xs, x[i]), append(ys, y[i])
		}
	}
	if err := Invalid("bad series", vs); err != nil {
		return 0, 0, 0, 0, err
	}
	n = len(xs)
	if n < 2 {
		return 0, 0, 0, n, Errorf(EFailedPrecondition, "a line needs two complete pairs, have %d", n)
	}
	if stat.Variance(xs, nil) == 0 {
		return 0, 0, 0, n, Errorf(EFailedPrecondition, "every x is %g: the slope is undefined", xs[0])
	}
	intercept, slope = stat.LinearRegression(xs, ys, nil, false)
	r2 = stat.RSquared(xs, ys, nil, intercept, slope)
	if stat.Variance(ys, nil) == 0 {
		r2 = math.NaN()
	}
	return slope, intercept, r2, n, nil
}
