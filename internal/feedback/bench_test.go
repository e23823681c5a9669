package feedback_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/feedback"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/web"
)

// gridProvince is a province of districts × communes laid as a grid over
// the place Dak Lak lies, with a People's Committee per commune: the size
// of a real province for the benchmarks.
type gridProvince struct {
	units    []feedback.Unit
	outlines map[string][]feedback.Polygon
	agencies []feedback.Agency
	byCode   map[string]feedback.Unit
	cols     int
	rows     int
}

const (
	gridMinLon, gridMinLat = 107.5, 12.2
	gridMaxLon, gridMaxLat = 108.9, 13.4
)

func newGridProvince(districts, communesPer int) *gridProvince {
	g := &gridProvince{outlines: map[string][]feedback.Polygon{}, byCode: map[string]feedback.Unit{}, rows: communesPer}
	g.units = append(g.units, feedback.Unit{Code: "99", Name: "Tỉnh Lưới", Level: feedback.LevelProvince})
	g.outlines["99"] = rect(gridMinLon, gridMinLat, gridMaxLon, gridMaxLat)
	g.agencies = append(g.agencies, feedback.Agency{Code: "T99.UBND", Name: "UBND Tỉnh Lưới", Kind: "people_committee", Unit: "99"})
	dw := (gridMaxLon - gridMinLon) / float64(districts)
	g.cols = districts
	for d := range districts {
		dc := fmt.Sprintf("%03d", 900+d)
		g.units = append(g.units, feedback.Unit{Code: dc, Name: "Huyện " + dc, Level: feedback.LevelDistrict, Parent: "99"})
		x0 := gridMinLon + float64(d)*dw
		g.outlines[dc] = rect(x0, gridMinLat, x0+dw, gridMaxLat)
		g.agencies = append(g.agencies, feedback.Agency{Code: "H" + dc + ".UBND", Name: "UBND Huyện " + dc, Kind: "people_committee", Unit: dc})
		ch := (gridMaxLat - gridMinLat) / float64(communesPer)
		for c := range communesPer {
			cc := fmt.Sprintf("%05d", 30000+d*100+c)
			g.units = append(g.units, feedback.Unit{Code: cc, Name: "Xã " + cc, Level: feedback.LevelCommune, Parent: dc})
			y0 := gridMinLat + float64(c)*ch
			// A wavy outline: some vertices, as real boundaries have.
			var ring feedback.Ring
			for i := 0; i <= 40; i++ {
				f := float64(i%10) / 10
				var p feedback.Point
				switch i / 10 {
				case 0:
					p = feedback.Point{x0 + f*dw, y0}
				case 1:
					p = feedback.Point{x0 + dw, y0 + f*ch}
				case 2:
					p = feedback.Point{x0 + dw - f*dw, y0 + ch}
				default:
					p = feedback.Point{x0, y0 + ch - f*ch}
				}
				ring = append(ring, p)
			}
			ring[len(ring)-1] = ring[0]
			g.outlines[cc] = []feedback.Polygon{{ring}}
			g.agencies = append(g.agencies, feedback.Agency{Code: "X" + cc + ".UBND", Name: "UBND Xã " + cc, Kind: "people_committee", Unit: cc})
		}
	}
	for _, u := range g.units {
		g.byCode[u.Code] = u
	}
	return g
}

func (g *gridProvince) UnitAt(_ context.Context, lat, lon float64) (feedback.Unit, error) {
	if lon < gridMinLon || lon >= gridMaxLon || lat < gridMinLat || lat >= gridMaxLat {
		return feedback.Unit{}, kernel.E(kernel.NotFound, "feedback.error.outside")
	}
	d := int((lon - gridMinLon) / (gridMaxLon - gridMinLon) * float64(g.cols))
	c := int((lat - gridMinLat) / (gridMaxLat - gridMinLat) * float64(g.rows))
	return g.byCode[fmt.Sprintf("%05d", 30000+d*100+c)], nil
}

func (g *gridProvince) Units(context.Context) ([]feedback.Unit, error) { return g.units, nil }

func (g *gridProvince) Boundaries(context.Context) ([]feedback.Boundary, error) {
	var out []feedback.Boundary
	for _, u := range g.units {
		out = append(out, feedback.Boundary{Unit: u.Code, Polygons: g.outlines[u.Code]})
	}
	return out, nil
}

func (g *gridProvince) Agencies(context.Context) ([]feedback.Agency, error)        { return g.agencies, nil }
func (g *gridProvince) Posts(context.Context, string) ([]feedback.Post, error)     { return nil, nil }
func (g *gridProvince) Members(context.Context, string) ([]feedback.Member, error) { return nil, nil }
func (g *gridProvince) Person(context.Context, string) (feedback.Person, error) {
	return feedback.Person{}, kernel.E(kernel.NotFound, "error.not_found")
}

// benchServer serves a service on the grid province behind the whole web
// layer.
func benchServer(b *testing.B, d *db.DB, g *gridProvince) (*feedback.Service, *web.Server) {
	b.Helper()
	s, err := feedback.New(feedback.Options{DB: d, Clock: kernel.SystemClock{}, Units: g, Staff: g, UseLog: &uses{},
		PublicURL: "https://civitas.test", AppLimit: 1_000_000})
	if err != nil {
		b.Fatal(err)
	}
	cat, err := i18n.Load()
	if err != nil {
		b.Fatal(err)
	}
	pub, _ := url.Parse("https://civitas.test")
	ws, err := web.NewServer(web.Options{DB: d, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Mount(ws); err != nil {
		b.Fatal(err)
	}
	return s, ws
}

// latencies collects durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) p(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	slices.Sort(l.d)
	return l.d[min(len(l.d)-1, int(math.Ceil(q*float64(len(l.d))))-1)]
}

// BenchmarkIntakeOpen311 posts reports (no photo) through Open311 over
// HTTP from 32 concurrent clients: reports/s and p99.
func BenchmarkIntakeOpen311(b *testing.B) {
	d := dbtest.Open(b)
	g := newGridProvince(12, 15)
	s, ws := benchServer(b, d, g)
	_, key, err := s.AddClient(context.Background(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(ws.Handler())
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	c := &http.Client{Transport: tr}
	var lat latencies
	var n atomic.Int64
	b.SetParallelism(16) // × GOMAXPROCS goroutines
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(uint64(n.Add(1)), 1))
		for pb.Next() {
			form := url.Values{"api_key": {key}, "service_code": {"traffic"},
				"lat":         {strconv.FormatFloat(gridMinLat+rng.Float64()*(gridMaxLat-gridMinLat), 'f', 6, 64)},
				"long":        {strconv.FormatFloat(gridMinLon+rng.Float64()*(gridMaxLon-gridMinLon), 'f', 6, 64)},
				"description": {"Đèn tín hiệu giao thông không hoạt động"}}
			t0 := time.Now()
			res, err := c.PostForm(srv.URL+"/open311/v2/requests.json", form)
			if err != nil {
				b.Error(err)
				return
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Errorf("status %d %s", res.StatusCode, body)
				return
			}
			lat.add(time.Since(t0))
		}
	})
	el := time.Since(start)
	b.ReportMetric(float64(b.N)/el.Seconds(), "reports/s")
	// The CPU both sides (clients and server, one process) spent: on a
	// shared machine, what the cores would give if they were ours.
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/report")
	// The share of the cores the process got: under 100 % the machine was
	// busy with others, and the wall-clock figures say more about them.
	b.ReportMetric(100*cpu.Seconds()/(el.Seconds()*float64(runtime.GOMAXPROCS(0))), "cpu%")
	b.ReportMetric(float64(lat.p(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat.p(0.5).Microseconds())/1000, "p50-ms")
}

var (
	photoOnce sync.Once
	photo12MP []byte
)

// twelveMegapixels is a 4000×3000 JPEG as a phone writes one: detail
// everywhere (sensor noise over shapes and gradients, so that it
// compresses as a photo does, to some 4 MB at quality 92), with EXIF and
// GPS.
func twelveMegapixels() []byte {
	photoOnce.Do(func() {
		img := image.NewYCbCr(image.Rect(0, 0, 4000, 3000), image.YCbCrSubsampleRatio420)
		rng := rand.New(rand.NewPCG(1, 2))
		for y := range 3000 {
			for x := range 4000 {
				img.Y[y*img.YStride+x] = uint8(40 + (x*x/4000+y*y/3000)%120 + (x/97%3)*20 + rng.IntN(18))
			}
		}
		for i := range img.Cb {
			img.Cb[i], img.Cr[i] = uint8(110+i%7*3+rng.IntN(8)), uint8(120+i/2000%20+rng.IntN(8))
		}
		var buf bytes.Buffer
		_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92})
		photo12MP = withEXIF(buf.Bytes(), 6)
	})
	return photo12MP
}

// BenchmarkPhoto12MP runs the photo pipeline on a 12-megapixel JPEG
// (decode, strip, turn upright, shrink to 2048 px, encode, thumbnail): run
// with -cpu 1 for photos per second per core.
func BenchmarkPhoto12MP(b *testing.B) {
	src := twelveMegapixels()
	d := dbtest.Open(b)
	g := newGridProvince(2, 2)
	s, _ := benchServer(b, d, g)
	b.SetBytes(int64(len(src)))
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		if _, err := feedback.ProcessPhoto(s, context.Background(), src); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "photos/s")
	// On a shared machine the wall clock counts other processes' turns:
	// the CPU time this process spent says what a core does.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "photos/cpu-s")
	}
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPhotoEightAtOnce sends eight 12-megapixel photos at once, again
// and again, and reports the process's peak resident memory. Run it alone
// (-run '^$' -bench PhotoEightAtOnce): the peak is the process's.
func BenchmarkPhotoEightAtOnce(b *testing.B) {
	src := twelveMegapixels()
	d := dbtest.Open(b)
	g := newGridProvince(2, 2)
	s, _ := benchServer(b, d, g)
	runtime.GC()
	b.ResetTimer()
	for b.Loop() {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := bytes.Clone(src) // each upload has its own bytes, as eight requests would
				if _, err := feedback.ProcessPhoto(s, context.Background(), buf); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	b.ReportMetric(float64(b.N*8)/b.Elapsed().Seconds(), "photos/s")
	if hwm := peakRSS(); hwm > 0 {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MiB")
	}
}

// peakRSS reads the process's peak resident set (VmHWM), in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				return n << 10
			}
		}
	}
	return 0
}

// bulkReports writes n public reports (and a few sensitive) spread over
// the grid province in the last year, directly: the map reads them, how
// they came does not matter.
func bulkReports(b *testing.B, d *db.DB, g *gridProvince, n int) {
	b.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7))
	now := time.Now()
	cats := []string{"environment", "urban_infrastructure", "traffic", "public_services", "land_construction", "other", "security_order"}
	statuses := []string{"submitted", "received", "in_progress", "resolved", "closed", "closed"}
	const chunk = 5000
	for done := 0; done < n; done += chunk {
		err := d.Update(ctx, now, func(tx *db.Tx) error {
			for i := done; i < min(done+chunk, n); i++ {
				lat := gridMinLat + rng.Float64()*(gridMaxLat-gridMinLat)
				lon := gridMinLon + rng.Float64()*(gridMaxLon-gridMinLon)
				u, _ := g.UnitAt(ctx, lat, lon)
				cat := cats[rng.IntN(len(cats))]
				created := now.Add(-time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
				if _, err := tx.Exec(ctx, `INSERT INTO feedback_reports (id, token, category, sensitive, commune, district, lat, lon, located,
					description, status, agency, channel, created_at, updated_at, due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'point', ?, ?, ?, 'demo', ?, ?, ?)`,
					kernel.NewOrderedID(created), kernel.NewID(), cat, boolInt(cat == "security_order"), u.Code, u.Parent, lat, lon,
					"Báo cáo thử", statuses[rng.IntN(len(statuses))], "X"+u.Code+".UBND", kernel.Micros(created), kernel.Micros(created),
					kernel.Micros(created.Add(72*time.Hour))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// BenchmarkMap200k renders the public map page (HTML with the SVG and the
// table, through the whole web layer) with 200,000 reports: the whole
// province, a district and a commune.
func BenchmarkMap200k(b *testing.B) {
	d := dbtest.Open(b)
	g := newGridProvince(12, 15)
	bulkReports(b, d, g, 200_000)
	_, ws := benchServer(b, d, g)
	h := ws.Handler()
	for _, v := range []struct{ name, query string }{
		{"province", ""},
		{"province-filtered", "category=traffic&status=open&period=30d"},
		{"district", "unit=905"},
		{"commune", "unit=30507"},
	} {
		b.Run(v.name, func(b *testing.B) {
			var lat latencies
			get := func() int {
				r := httptest.NewRequest("GET", "/feedback/map?"+v.query, nil)
				w := httptest.NewRecorder()
				t0 := time.Now()
				h.ServeHTTP(w, r)
				lat.add(time.Since(t0))
				if w.Code != 200 {
					b.Fatalf("status %d", w.Code)
				}
				return w.Body.Len()
			}
			get() // loads the pins once
			lat = latencies{}
			size := 0
			cpu0 := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				size = get()
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/view")
			b.ReportMetric(float64(lat.p(0.99).Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(size)/1024, "page-KiB")
		})
	}
}
