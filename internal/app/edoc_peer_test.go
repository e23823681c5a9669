package app

import (
	"context"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"civitas/internal/config"
	"civitas/internal/db/dbtest"
	"civitas/internal/edoc"
	"civitas/internal/kernel"
	"civitas/internal/pdf/pdftest"
	"civitas/internal/pki"
	"civitas/internal/registry"
)

// province is a whole civitas with its peer listener served.
type province struct {
	a   *App
	url string
}

func newProvince(t *testing.T, code string) province {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.DB, cfg.DataDir, cfg.Demo, cfg.DemoPersons, cfg.DemoProvince = dbtest.Migrated(t), t.TempDir(), true, 200, code
	cfg.PublicURL, cfg.PeerAddr = "http://"+srv.Listener.Addr().String(), ln.Addr().String()
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv.Config.Handler = a.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.exchange.ServePeers(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return province{a: a, url: cfg.PublicURL}
}

func (p province) rootPEM(t *testing.T) []byte {
	root, err := p.a.pki.CA(pki.Root)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Cert.Raw})
}

func (p province) committee(t *testing.T) string {
	as, err := p.a.registry.ListAgencies(context.Background(), kernel.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.Kind == registry.PeopleCommittee && strings.HasPrefix(a.Code, "H") {
			return a.Code
		}
	}
	t.Fatal("no district committee")
	return ""
}

// TestEdocBetweenProvinces: an envelope crosses from one civitas to
// another over the peer listeners (mutual TLS, each pinned by its root);
// the recipient takes it into the agency's register and the sender hears
// 01 back; a resend is taken in once.
func TestEdocBetweenProvinces(t *testing.T) {
	a, b := newProvince(t, "099"), newProvince(t, "098")
	op := kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorOperator, ID: "test"})
	if _, err := a.a.exchange.AddPeer(op, "bprov", b.url, b.rootPEM(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.a.exchange.AddPeer(op, "aprov", a.url, a.rootPEM(t)); err != nil {
		t.Fatal(err)
	}
	from, to := a.committee(t), b.committee(t)
	_, ids, err := a.a.edoc.Import(op, edoc.Import{From: from, To: []edoc.Recipient{{Agency: to, Peer: "bprov"}}, Type: "CV",
		Subject: "Về việc phối hợp liên tỉnh", Main: edoc.File{Name: "cv.pdf", Data: pdftest.Tiny()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if n, err := a.a.edoc.DeliverDue(ctx, "a", 10); err != nil || n != 1 {
		t.Fatalf("delivered %d, %v", n, err)
	}
	var docID string
	if err := b.a.db.QueryRow(ctx, `SELECT document_id FROM edoc_receipts WHERE envelope_id = ?`, ids[0]).Scan(&docID); err != nil {
		t.Fatalf("not received: %v", err)
	}
	// Its status 01 goes back to the sender.
	if n, err := b.a.edoc.DeliverDue(ctx, "b", 10); err != nil || n != 1 {
		t.Fatalf("statuses sent back %d, %v", n, err)
	}
	ms, err := a.a.edoc.Statuses(op, ids[0])
	if err != nil || len(ms) != 1 || ms[0].Code != edoc.StatusArrived || ms[0].Agency != to {
		t.Fatalf("statuses at the sender %+v, %v", ms, err)
	}
	// A resend is taken in once.
	xml, _ := a.a.edoc.Export(op, ids[0])
	if err := (edocPeers{x: a.a.exchange}).Deliver(ctx, "bprov", xml); err != nil {
		t.Fatalf("resend: %v", err)
	}
	var n int
	_ = b.a.db.QueryRow(ctx, `SELECT COUNT(*) FROM edoc_documents WHERE envelope_id = ?`, ids[0]).Scan(&n)
	if n != 1 {
		t.Fatalf("%d copies", n)
	}
}
