// Package kernel is the shared vocabulary of civitas: error codes, the clock,
// identifiers, the acting person in the context, and paging.
//
// It owns no data and does no I/O. It must never import another civitas
// package: everything else may import it.
package kernel
