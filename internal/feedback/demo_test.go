package feedback_test

import (
	"testing"

	"civitas/internal/feedback"
)

// The demo gives the province rules, layers and reports at every stage,
// their figures counted as the steps would have counted them; a second run
// does nothing.
func TestSeedDemo(t *testing.T) {
	e := newEnv(t)
	st, err := e.s.SeedDemo(e.ctx, 200, 1)
	if err != nil {
		t.Fatal(err)
	}
	if st.Reports != 200 || st.Layers != 2 || st.Rules != 7 {
		t.Fatalf("%+v", st)
	}
	checkTallies(t, e)
	all, _, err := e.s.FiguresOf(e.ctx, "", e.clock.Now().AddDate(0, 0, -91), e.clock.Now().AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if all.Received != 200 || all.Resolved == 0 || all.Rated == 0 || all.Reopened == 0 || all.Open == 0 || all.MedianHours <= 0 {
		t.Fatalf("figures %+v", all)
	}
	if plans, _ := e.s.PlannedAt(e.ctx, 12.68, 108.05, "2026-12-01"); len(plans) == 0 {
		t.Fatal("nothing planned at 12.68, 108.05")
	}
	m, err := e.s.Map(e.ctx, feedback.MapView{})
	if err != nil || m.Total == 0 || m.Total >= 200 {
		t.Fatalf("map: %d of 200 (sensitive left out), %v", m.Total, err)
	}
	if st, err := e.s.SeedDemo(e.ctx, 200, 1); err != nil || st.Reports != 0 {
		t.Fatalf("second run: %+v %v", st, err)
	}
}
