// Package app wires civitas together: config -> database -> services -> one
// http.Handler, plus the background jobs, and runs them until told to stop.
//
// It owns no rules and no SQL of its own; it only builds the capabilities and
// hands each the small interfaces it needs from the others.
package app
