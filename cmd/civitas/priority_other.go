//go:build !linux

package main

// lowerPriority does nothing outside Linux: run the command under nice.
func lowerPriority(int) error { return nil }
