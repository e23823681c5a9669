package verify

// WithSemaphore returns o with its validation slots in sem, so a test can
// hold them and see the next request refused.
func WithSemaphore(o Options, sem chan struct{}) Options {
	o.sem = sem
	return o
}
