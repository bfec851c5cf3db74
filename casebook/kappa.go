package casebook

// Kappa is Cohen's κ of two raters over the same items: (po − pe) / (1 − pe),
// with po the observed agreement and pe the agreement expected by chance
// from each rater's category frequencies. It returns 1 when both raters put
// every item in the same single category, and 0 for no items.
func Kappa(a, b []Verdict) float64 {
	n := len(a)
	if n == 0 || len(b) != n {
		return 0
	}
	var agree float64
	ca, cb := map[Verdict]float64{}, map[Verdict]float64{}
	for i := range a {
		if a[i] == b[i] {
			agree++
		}
		ca[a[i]]++
		cb[b[i]]++
	}
	po := agree / float64(n)
	var pe float64
	for v, x := range ca {
		pe += x / float64(n) * cb[v] / float64(n)
	}
	if pe == 1 {
		return 1
	}
	return (po - pe) / (1 - pe)
}
