package detectors

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat/distuv"
)

// Statistics shared by the statistical detectors (DOMAIN.md §9), on gonum.

// Median returns the median of xs (0 for none); xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// MAD is the median absolute deviation from the median.
func MAD(xs []float64) float64 {
	m := Median(xs)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - m)
	}
	return Median(dev)
}

// RobustZ is the Iglewicz–Hoaglin modified z-score 0.6745·(x − median)/MAD
// of x against a peer sample. When the MAD is 0 (most peers identical) the
// mean absolute deviation ×1.2533 stands in; when that is 0 too, any x
// different from the median scores ±10 (and 0 when equal).
func RobustZ(x float64, peers []float64) (z, median, mad float64) {
	median, mad = Median(peers), MAD(peers)
	scale := mad / 0.6745
	if scale == 0 {
		var sum float64
		for _, p := range peers {
			sum += math.Abs(p - median)
		}
		if len(peers) > 0 {
			scale = 1.2533 * sum / float64(len(peers))
		}
	}
	if scale == 0 {
		switch {
		case x > median:
			return 10, median, mad
		case x < median:
			return -10, median, mad
		}
		return 0, median, mad
	}
	return (x - median) / scale, median, mad
}

// PoissonTail is P(X ≥ k) for X ~ Poisson(lambda): how surprising a count of
// k is when lambda is expected.
func PoissonTail(k, lambda float64) float64 {
	if k <= 0 {
		return 1
	}
	if lambda <= 0 {
		return 0
	}
	return 1 - distuv.Poisson{Lambda: lambda}.CDF(math.Ceil(k)-1)
}

// JensenShannon is the Jensen–Shannon divergence (base 2, in 0..1) of two
// non-negative weight vectors over the same categories; each is normalised.
// Two empty vectors diverge by 0, one empty and one not by 1.
func JensenShannon(p, q []float64) float64 {
	sp, sq := floats.Sum(p), floats.Sum(q)
	if sp == 0 && sq == 0 {
		return 0
	}
	if sp == 0 || sq == 0 {
		return 1
	}
	kl := func(a []float64, sa float64, m []float64) float64 {
		var d float64
		for i := range a {
			if a[i] > 0 {
				pa := a[i] / sa
				d += pa * math.Log2(pa/m[i])
			}
		}
		return d
	}
	m := make([]float64, len(p))
	for i := range p {
		m[i] = (p[i]/sp + q[i]/sq) / 2
	}
	return min(max((kl(p, sp, m)+kl(q, sq, m))/2, 0), 1)
}

// ChangeRatios returns, for each point of a series from index window on,
// its value divided by the median of the window points before it (+Inf when
// that median is 0 and the value is not): a simple change-point signal.
func ChangeRatios(series []float64, window int) []float64 {
	out := make([]float64, len(series))
	for i := range series {
		if i < window {
			continue
		}
		m := Median(series[i-window : i])
		switch {
		case m > 0:
			out[i] = series[i] / m
		case series[i] > 0:
			out[i] = math.Inf(1)
		}
	}
	return out
}

// Logistic maps a margin over a threshold to a score in (0, 1): 0.5 at the
// threshold, rising with the margin; scale is the margin that gives ≈ 0.73.
func Logistic(margin, scale float64) float64 {
	if scale <= 0 {
		scale = 1
	}
	return 1 / (1 + math.Exp(-margin/scale))
}
