package edoc

import (
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"civitas/internal/kernel"
)

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	if m, p := percentile(ds, 50), percentile(ds, 90); m != 5 || p != 9 {
		t.Fatalf("median %d p90 %d", m, p)
	}
	if percentile(nil, 50) != 0 || percentile([]time.Duration{7}, 90) != 7 {
		t.Fatal("edges")
	}
}

// TestSupervise: the district's leader sees the commune's documents
// waiting now and for how long, the answers overdue, and the median and
// 90th percentile of the steps over the period; a commune's leader does
// not see the district; the chart is well-formed SVG.
func TestSupervise(t *testing.T) {
	e := newEnv(t)
	drafter := as("drafter", "X001.UBND")
	for i := 0; i < 3; i++ {
		d, err := e.s.Create(drafter, Draft{Agency: "X001.UBND", Type: "TB", Subject: "Thông báo", Recipients: []Recipient{{Agency: "H01.UBND"}},
			Main: File{Name: "tb.pdf", Data: testPDF}})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.s.Submit(drafter, d.ID, "leader"); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Hour)
	}
	// An incoming document past its due date at the district.
	_, env := e.importOne("X001.UBND", "H01.UBND", "CV")
	if _, err := e.s.DeliverDue(context.Background(), "t", 10); err != nil {
		t.Fatal(err)
	}
	var in string
	_ = e.d.QueryRow(context.Background(), `SELECT document_id FROM edoc_receipts WHERE envelope_id = ?`, env).Scan(&in)
	if err := e.s.RegisterIncoming(as("hclerk", "H01.UBND"), in); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Assign(as("hleader", "H01.UBND"), in, "hstaff", e.clock.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(48 * time.Hour)
	sup, err := e.s.Supervise(as("hleader", "H01.UBND"), "H01.UBND", e.clock.Now().Add(-30*24*time.Hour), e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	figs := map[string]Figures{}
	for _, f := range sup.Agencies {
		figs[f.Key] = f
	}
	x, h := figs["X001.UBND"], figs["H01.UBND"]
	if x.WaitingNow != 3 || x.OldestWait != 51*time.Hour || h.Overdue != 1 || h.Done != 2 {
		t.Fatalf("figures %+v", sup.Agencies)
	}
	if len(sup.Signers) != 1 || sup.Signers[0].Key != "leader" || sup.Signers[0].WaitingNow != 3 {
		t.Fatalf("signers %+v", sup.Signers)
	}
	if _, err := e.s.Supervise(as("hclerk", "H01.UBND"), "H01.UBND", time.Time{}, e.clock.Now()); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("a clerk supervises: %v", err)
	}
	own, err := e.s.Supervise(as("leader", "X001.UBND"), "X001.UBND", time.Time{}, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range own.Agencies {
		if f.Key == "H01.UBND" {
			t.Fatal("a commune's leader sees the district")
		}
	}
	svg := sup.Chart("Thời gian <xử lý>", [3]string{"a", "b", "c"})
	if err := xml.Unmarshal(svg, new(struct{})); err != nil || !strings.Contains(string(svg), "&lt;xử lý&gt;") {
		t.Fatalf("chart: %v\n%s", err, svg)
	}
	if _, err := exec.LookPath("rsvg-convert"); err == nil {
		f := filepath.Join(t.TempDir(), "c.svg")
		_ = os.WriteFile(f, svg, 0o600)
		if out, err := exec.Command("rsvg-convert", "-o", filepath.Join(t.TempDir(), "c.png"), f).CombinedOutput(); err != nil {
			t.Fatalf("rsvg-convert: %v %s", err, out)
		}
	}
}
