package settlement

import (
	"time"

	"github.com/medaudit/medaudit/contract"
)

// CoversStay reports whether reg covers a stay at an institution in orgRegion
// from admitted to discharged (DOMAIN §5.2): the registration's treatment
// area covers the institution's region (the same county, its city NNMM00 or
// its province NN0000), it starts no later than the discharge — filing
// during the stay, before discharge settlement, is legal — and it has not
// ended before the admission (a zero ValidTo is open). A zero ValidFrom is
// open as well. For an outpatient visit pass the visit time twice. Dates are
// compared as given; pass them in one location.
func CoversStay(reg Registration, orgRegion contract.RegionCode, admitted, discharged time.Time) bool {
	if !reg.TreatmentRegion.Covers(orgRegion) {
		return false
	}
	if !reg.ValidFrom.IsZero() && reg.ValidFrom.After(discharged) {
		return false
	}
	if !reg.ValidTo.IsZero() && reg.ValidTo.Before(admitted) {
		return false
	}
	return true
}
