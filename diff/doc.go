// Package diff compares a stack's desired objects with its live ones and
// produces a Plan: a sorted list of field-level changes, and renders it as text
// or JSON. It is pure: no I/O and no logging; anything it would warn about is
// data in the Plan.
package diff
