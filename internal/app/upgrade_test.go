package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
)

// TestRollingUpgrade replaces, one at a time, the two civitas processes
// serving one PostgreSQL database with a newer build — this binary with
// one more migration, which only expands the schema (-tags upgradetest:
// a table, and a column on the tables every request touches) — while
// clients keep asking for tokens through a balancer that takes each
// process out of rotation before it stops and back once /readyz answers.
// Not one request may fail: the old process serves on the schema the new
// one migrated, as migrations that follow the expand-then-contract rule
// (TestMigrationsExpandThenContract) guarantee.
func TestRollingUpgrade(t *testing.T) {
	if os.Getenv(dbtest.EnvPostgres) == "" {
		t.Skip("two instances share one database: needs PostgreSQL (CIVITAS_TEST_POSTGRES)")
	}
	if testing.Short() {
		t.Skip("builds civitas twice")
	}
	dsn := dbtest.DSN(t)
	dir := t.TempDir()
	build := func(out string, args ...string) {
		t.Helper()
		cmd := exec.Command("go", append(append([]string{"build"}, args...), "-o", out, "./cmd/civitas")...)
		cmd.Dir = "../.."
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %v: %v\n%s", args, err, b)
		}
	}
	oldBin, newBin := filepath.Join(dir, "civitas-old"), filepath.Join(dir, "civitas-new")
	build(oldBin)
	build(newBin, "-tags", "upgradetest")
	keyFile := filepath.Join(dir, "kek")
	if err := os.WriteFile(keyFile, []byte(strings.Repeat("5a", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--db", dsn, "--key-file", keyFile}
	secret := strings.Repeat("s", 40)
	add := exec.Command(oldBin, append([]string{"client", "add", "--data", filepath.Join(dir, "cli"), "--client-id", "bank", "--secret-stdin",
		"--scope", "wallet.query"}, common...)...)
	add.Stdin = strings.NewReader(secret + "\n")
	if b, err := add.CombinedOutput(); err != nil {
		t.Fatalf("client add: %v\n%s", err, b)
	}

	type proc struct {
		name, addr string
		cmd        *exec.Cmd
		done       chan error
	}
	freeAddr := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	start := func(name, bin, addr string) *proc {
		t.Helper()
		logf, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--data", filepath.Join(dir, name), "--public-url", "http://civitas.test",
			"--demo", "--demo-persons", "1000", "--log-level", "warn"}, common...)...)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p := &proc{name: name, addr: addr, cmd: cmd, done: make(chan error, 1)}
		go func() { p.done <- cmd.Wait(); logf.Close() }()
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		deadline := time.Now().Add(60 * time.Second)
		for {
			resp, err := http.Get("http://" + addr + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return p
				}
			}
			select {
			case err := <-p.done:
				b, _ := os.ReadFile(filepath.Join(dir, name+".log"))
				t.Fatalf("%s exited: %v\n%s", name, err, b)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never became ready", name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	stop := func(p *proc) {
		t.Helper()
		// A balancer's deregistration delay: requests it already sent
		// finish before the process is told to stop.
		time.Sleep(300 * time.Millisecond)
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not stop", p.name)
		}
	}

	// The balancer's rotation: the addresses it sends requests to.
	var rotation atomic.Pointer[[]string]
	set := func(addrs ...string) { rotation.Store(&addrs) }
	a := start("a-old", oldBin, freeAddr())
	b := start("b-old", oldBin, freeAddr())
	set(a.addr, b.addr)

	var requests, failures atomic.Int64
	var failMu sync.Mutex
	var firstFailures []string
	stopLoad := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stopLoad:
					return
				default:
				}
				addrs := *rotation.Load()
				addr := addrs[i%len(addrs)]
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/oauth/token",
					strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("bank", secret)
				requests.Add(1)
				resp, err := client.Do(req)
				status := 0
				if err == nil {
					status = resp.StatusCode
					resp.Body.Close()
				}
				if status != http.StatusOK {
					failures.Add(1)
					failMu.Lock()
					if len(firstFailures) < 5 {
						firstFailures = append(firstFailures, fmt.Sprintf("%s: %d %v", addr, status, err))
					}
					failMu.Unlock()
				}
			}
		}()
	}
	settle := func() { time.Sleep(time.Second) }
	settle()
	// Upgrade a: out of rotation, stopped gracefully, the new build started
	// on its address (it migrates), back into rotation.
	set(b.addr)
	stop(a)
	a = start("a-new", newBin, a.addr)
	set(a.addr, b.addr)
	settle() // the old b serves on the new schema beside the new a
	set(a.addr)
	stop(b)
	b = start("b-new", newBin, b.addr)
	set(a.addr, b.addr)
	settle()
	close(stopLoad)
	wg.Wait()

	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed during the rolling upgrade: %v", n, requests.Load(), firstFailures)
	}
	if requests.Load() < 100 {
		t.Fatalf("only %d requests: the test proves little", requests.Load())
	}
	d, err := db.Open(context.Background(), db.Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM schema_migrations WHERE version = '9999_upgrade_probe'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the newer build's migration: %d %v", n, err)
	}
	t.Logf("%d token requests across the rolling upgrade, none failed", requests.Load())
}
