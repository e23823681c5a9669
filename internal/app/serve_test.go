package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"civitas/internal/config"
	"civitas/internal/db/dbtest"
)

// TestServeMetricsListener: /metrics is not on the public listener without
// a token; the operator's listener serves it and nothing else; both stop
// with the context.
func TestServeMetricsListener(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := config.Default()
	cfg.DB, cfg.DataDir, cfg.PublicURL, cfg.ShutdownTimeout = dbtest.Migrated(t), t.TempDir(), "http://civitas.test", 5*time.Second
	a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}
	ln, mln := listen(), listen()
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln, mln) }()
	get := func(base net.Listener, path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + base.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, _ := get(ln, "/healthz"); st != http.StatusOK {
		t.Fatalf("/healthz: %d", st)
	}
	if st, body := get(ln, "/metrics"); st != http.StatusNotFound || strings.Contains(body, "go_goroutines") {
		t.Fatalf("public /metrics: %d", st)
	}
	if st, body := get(mln, "/metrics"); st != http.StatusOK || !strings.Contains(body, "go_goroutines") ||
		!strings.Contains(body, `civitas_http_requests_total{code="200",method="GET",route="GET /healthz"} 1`) {
		t.Fatalf("metrics listener /metrics: %d\n%.400s", st, body)
	}
	if st, _ := get(mln, "/healthz"); st != http.StatusNotFound {
		t.Fatalf("metrics listener /healthz: %d", st)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := net.Dial("tcp", mln.Addr().String()); err == nil {
		t.Error("the metrics listener still accepts connections")
	}
}
