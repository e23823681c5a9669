package feedback

import "context"

// ProcessPhoto runs the service's photo pipeline, for the benchmarks.
func ProcessPhoto(s *Service, ctx context.Context, b []byte) (int, error) {
	p, err := s.photos.Process(ctx, b)
	return len(p.Image) + len(p.Thumb), err
}
