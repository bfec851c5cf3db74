package detectors

// ghostBed lists the detectors of this family.
var ghostBed = []factory{}
