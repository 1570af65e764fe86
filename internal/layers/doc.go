// Package layers holds no code: its test checks the import rules of
// docs/architecture.md on the real package graph (`go list`), so a change
// that lets a vendor leak inward, or the shared layer depend on cgo, fails
// in CI rather than in review.
package layers
