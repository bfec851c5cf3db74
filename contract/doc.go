// Package contract describes data contract v1 (../shared/CONTRACT.md): the eight
// input files of a settled-claim batch, their columns, the identifier and money
// types shared by every part of the service, and the format checks that make a
// row well formed (GB 11643 ID numbers, GB/T 2260 region codes).
//
// It is pure Go with no dependencies, so the pipeline, the fixtures generator,
// the settlement engine and the detectors can all import it.
package contract
