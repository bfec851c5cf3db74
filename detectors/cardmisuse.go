package detectors

// cardMisuse lists the detectors of this family.
var cardMisuse = []factory{}
