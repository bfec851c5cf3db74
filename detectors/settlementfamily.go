package detectors

// settlementFamily lists the detectors of this family.
var settlementFamily = []factory{}
