package demo

import (
	"context"
	"math/rand/v2"
	"testing"
)

// BenchmarkGenerate measures the generator alone, without the database: the
// limit the loader's persons/s is compared with.
func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		r := rand.New(rand.NewPCG(1, 2))
		st := buildStructure(r)
		g := newGenerator(r, rand.New(rand.NewPCG(3, 4)), &st, 200_000)
		ch := make(chan chunk, 2)
		go g.run(context.Background(), ch)
		n := 0
		for c := range ch {
			n += len(c.persons)
		}
		if n != 200_000 {
			b.Fatalf("generated %d persons", n)
		}
	}
	b.ReportMetric(float64(b.N*200_000)/b.Elapsed().Seconds(), "persons/s")
}
