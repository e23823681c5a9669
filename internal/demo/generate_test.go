package demo

import (
	"bytes"
	"context"
	"strings"

	"civitas/internal/db/dbtest"
	"math/rand/v2"
	"testing"
)

// BenchmarkGenerate measures the generator alone, without the database: the
// limit the loader's persons/s is compared with.
func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		r := rand.New(rand.NewPCG(1, 2))
		st := buildStructure(r, provinces[0])
		src := newSources(1)
		st.addReference(src.geo)
		g := newGenerator(r, rand.New(rand.NewPCG(3, 4)), &st, 200_000)
		g.src = src
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

// TestProgressLines loads in small chunks so that progress is reported
// several times: a line per 10 % at most, the last at 100 %.
func TestProgressLines(t *testing.T) {
	var buf bytes.Buffer
	d := dbtest.Open(t)
	if _, err := load(context.Background(), d, Options{Persons: 9000, Seed: 3, Progress: &buf}, 1000); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "100%") || strings.Count(buf.String(), "\n") > 11 || strings.Count(buf.String(), "\n") < 5 {
		t.Fatalf("progress output:\n%s", buf.String())
	}
}
