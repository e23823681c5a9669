package statuslist

import "testing"

// TestPoolDrawsEveryFreeIndexOnce: drawing a pool dry, through the random
// tries and then the k-th-free walk, hands out each free index once and
// never a used one, also past the last full word of bits.
func TestPoolDrawsEveryFreeIndexOnce(t *testing.T) {
	s := &Store{fill: DefaultFill}
	const size = 1000 // not a multiple of 64
	used := map[uint32]bool{0: true, 63: true, 64: true, 999: true}
	p := s.newPool("l", size, used)
	if p.nfree != size-len(used) {
		t.Fatalf("nfree %d", p.nfree)
	}
	seen := map[uint32]bool{}
	for p.nfree > 0 {
		i := p.draw()
		if i >= size || used[i] || seen[i] {
			t.Fatalf("drew %d (used %v, seen %v)", i, used[i], seen[i])
		}
		seen[i] = true
	}
	if len(seen) != size-len(used) {
		t.Fatalf("drew %d indexes, want %d", len(seen), size-len(used))
	}
}
