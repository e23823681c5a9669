// Package db opens the civitas database — embedded SQLite by default,
// PostgreSQL in production — and gives the capabilities one portable way to
// use it: ? placeholders rebound once for PostgreSQL, write transactions on a
// single writer, reads on a pool of readers, embedded migrations per dialect,
// and leases so that only one instance runs each background job.
//
// It owns the schema and the migrations table. It must never hold domain
// rules: capabilities keep their SQL in their own store.go files.
//
// Timestamps are stored as BIGINT Unix microseconds (kernel.Micros) in both
// dialects: portable, exact, and stable under hashing.
package db
