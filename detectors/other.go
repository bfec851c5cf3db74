package detectors

// other lists the detectors of this family.
var other = []factory{}
