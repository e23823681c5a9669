package edoc

import (
	"bytes"
	"context"
	"testing"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// BenchmarkRegisterAndSend: an operator's import of a signed document with
// a 100 KB PDF — registered (its number taken in the transaction), sealed
// into an envelope, put in the outbox — then delivered within the
// province: the seal checked, the recipient's copy registered as arrived,
// status 01 recorded.
func BenchmarkRegisterAndSend(b *testing.B) {
	e := newEnv(b)
	main := append(bytes.Clone(testPDF), bytes.Repeat([]byte("% padding to a hundred kilobytes\n"), 100<<10/33)...)
	im := Import{From: "X001.UBND", To: []Recipient{{Agency: "H01.UBND"}}, Type: "CV", Subject: "Về việc đo hiệu năng", Main: File{Name: "cv.pdf", Data: main}}
	ctx := operator()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := e.s.Import(ctx, im); err != nil {
			b.Fatal(err)
		}
		if n, err := e.s.DeliverDue(context.Background(), "bench", 10); err != nil || n != 1 {
			b.Fatalf("delivered %d, %v", n, err)
		}
	}
}

// BenchmarkRegisterOnly is the registration alone, for comparison: the
// number, the document and its 100 KB file in one transaction.
func BenchmarkRegisterOnly(b *testing.B) {
	e := newEnv(b)
	main := append(bytes.Clone(testPDF), bytes.Repeat([]byte("% padding to a hundred kilobytes\n"), 100<<10/33)...)
	ctx := operator()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d := Document{ID: kernel.NewID(), Agency: "X001.UBND", Unit: "X001", Direction: Outgoing, Type: "QĐ", Subject: "Quyết định", Status: Registered,
			DraftingUnit: "VP", Urgency: Normal, Confidentiality: Public, Version: 1, Recipients: []Recipient{{Agency: "H01.UBND"}}}
		err := e.d.Update(ctx, e.clock.Now(), func(tx *db.Tx) error {
			d.CreatedAt, d.UpdatedAt = tx.Now, tx.Now
			if err := insertDocument(ctx, tx, &d); err != nil {
				return err
			}
			if err := register(ctx, tx, &d); err != nil {
				return err
			}
			return insertFile(ctx, tx, d.ID, 1, 0, File{Name: "qd.pdf", Data: main})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
