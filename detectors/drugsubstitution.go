package detectors

// drugSubstitution lists the detectors of this family.
var drugSubstitution = []factory{}
