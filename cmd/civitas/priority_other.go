//go:build !linux

package main

// lowerThread does nothing outside Linux: run the command under nice.
func lowerThread(int) error { return nil }
