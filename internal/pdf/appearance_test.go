package pdf_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/pdf"
	"civitas/internal/pdf/pdftest"
)

// systemFont is DejaVu Sans from the system (Debian: fonts-dejavu-core),
// parsed, or a skipped test.
func systemFont(t testing.TB) *pdf.Font {
	t.Helper()
	b, err := os.ReadFile("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
	if err != nil {
		t.Skip("DejaVu Sans not installed (fonts-dejavu-core)")
	}
	f, err := pdf.ParseFont(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// sealPNG is a red ring on a transparent ground, as seals are.
func sealPNG(t testing.TB, alpha bool) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 120, 120))
	for y := 0; y < 120; y++ {
		for x := 0; x < 120; x++ {
			d := (x-60)*(x-60) + (y-60)*(y-60)
			switch {
			case d < 3600 && d > 2500:
				img.Set(x, y, color.NRGBA{220, 0, 0, 255})
			case !alpha:
				img.Set(x, y, color.NRGBA{255, 255, 255, 255})
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func parseImage(t testing.TB, b []byte) *pdf.Image {
	t.Helper()
	im, err := pdf.ParseImage(b)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// onePagePDF is pdftest.Tiny with more entries in the page dictionary.
func onePagePDF(pageExtra string) []byte {
	var b bytes.Buffer
	var offs []int
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	for _, body := range []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R " + pageExtra + " >>",
		"<< /Length 0 >>\nstream\n\nendstream",
	} {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), body)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

// render draws page n of file at 72 dpi with poppler: one pixel a point.
func render(t testing.TB, file string, n int) image.Image {
	t.Helper()
	needTool(t, "pdftoppm")
	out, err := exec.Command("pdftoppm", "-r", "72", "-png", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), file).Output()
	if err != nil {
		t.Fatalf("pdftoppm: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("pdftoppm output: %v", err)
	}
	return img
}

// ink counts the pixels of r that are not white, and those that are red.
func ink(img image.Image, r image.Rectangle) (dark, red int) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if c.R < 240 || c.G < 240 || c.B < 240 {
				dark++
			}
			if c.R > 150 && c.G < 80 && c.B < 80 {
				red++
			}
		}
	}
	return dark, red
}

// pixelRect is a rectangle in PDF points (y up) as pixels of a 72 dpi
// rendering of a page h points high (y down), shrunk by inset.
func pixelRect(r [4]float64, h float64, inset int) image.Rectangle {
	return image.Rect(int(r[0])+inset, int(h-r[3])+inset, int(r[2])-inset, int(h-r[1])-inset)
}

var bidiMarks = strings.NewReplacer("\u202A", "", "\u202B", "", "\u202C", "", "\u202D", "", "\u202E", "")

// The lines of the appearance the verifier tests draw.
var testLines = []string{
	"Nguyễn Văn Ấn",
	"Ủy ban nhân dân tỉnh Bắc Ninh",
	"Ký ngày: 2026-11-26T10:04:05+07:00",
	"محمد عبد الله",
	"السبب: الموافقة",
}

// TestVisibleSignatureVerifiers signs a file invisibly, then visibly with
// Vietnamese and Arabic lines and a seal image, and has tools nobody here
// wrote check the result: qpdf (structure), pdftotext (the text comes back),
// pdftoppm (it is drawn where it should be, nowhere else), pdffonts (an
// embedded Unicode subset), mutool (renders without a word) and pdfsig
// (both signatures valid).
func TestVisibleSignatureVerifiers(t *testing.T) {
	needTool(t, "openssl")
	font := systemFont(t)
	pki := newTestPKI(t)
	dir := t.TempDir()
	in, inv, vis := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "invisible.pdf"), filepath.Join(dir, "visible.pdf")
	if err := os.WriteFile(in, pdftest.Tiny(), 0o600); err != nil {
		t.Fatal(err)
	}
	pki.signFile(t, 0, in, inv, pdf.SignOptions{Name: "Nguyễn Thị Ánh", Reason: "Soạn thảo"})
	pki.signFile(t, 2, inv, vis, pdf.SignOptions{
		Name: "Ủy ban nhân dân tỉnh Bắc Ninh", Reason: "Phê duyệt", SignTime: time.Date(2026, 11, 26, 10, 4, 5, 0, time.FixedZone("ICT", 7*3600)),
		Appearance: &pdf.Appearance{Font: font, Lines: testLines, Image: parseImage(t, sealPNG(t, true))},
	})
	// The default box: 240×80 pt at 36 pt from the bottom right of A4.
	box := [4]float64{595 - 36 - 240, 36, 595 - 36, 36 + 80}

	t.Run("qpdf", func(t *testing.T) {
		needTool(t, "qpdf")
		if out, err := exec.Command("qpdf", "--check", vis).CombinedOutput(); err != nil || !strings.Contains(string(out), "No syntax or stream encoding errors") {
			t.Fatalf("qpdf --check: %v\n%s", err, out)
		}
	})
	t.Run("pdftotext", func(t *testing.T) {
		needTool(t, "pdftotext")
		out, err := exec.Command("pdftotext", "-f", "1", "-l", "1", vis, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		// poppler wraps right-to-left words in embedding marks.
		text := bidiMarks.Replace(string(out))
		lines := strings.Split(text, "\n")
		for i, want := range testLines[:4] {
			if i >= len(lines) || strings.TrimSpace(lines[i]) != want {
				t.Errorf("line %d: got %q, want %q\n%s", i+1, lines[min(i, len(lines)-1)], want, text)
			}
		}
		// The reason: poppler reads each Arabic word in logical order, but
		// keeps words in the page's (left to right) order around the colon.
		if len(lines) < 5 || strings.TrimSpace(lines[4]) != "الموافقة:السبب" {
			t.Errorf("line 5: %q", lines[min(4, len(lines)-1)])
		}
		for _, reversed := range []string{"دمحم", "ةقفاوملا", "ببسلا"} {
			if strings.Contains(text, reversed) {
				t.Errorf("%q comes back reversed:\n%s", reversed, text)
			}
		}
	})
	t.Run("pdftoppm", func(t *testing.T) {
		img := render(t, vis, 1)
		if b := img.Bounds(); b.Dx() != 595 || b.Dy() != 842 {
			t.Fatalf("rendered %v", b)
		}
		dark, _ := ink(img, pixelRect(box, 842, 2))
		area := (240 - 4) * (80 - 4)
		if dark < area/50 || dark > area/2 {
			t.Errorf("%d of %d pixels inside the box are drawn", dark, area)
		}
		// The seal is on the left third of the box, red.
		left := [4]float64{box[0], box[1], box[0] + 84, box[3]}
		if _, red := ink(img, pixelRect(left, 842, 2)); red < 100 {
			t.Errorf("%d red pixels where the seal is", red)
		}
		// The rest of the page is blank: the first signature is invisible.
		for _, r := range []image.Rectangle{image.Rect(0, 0, 595, 700), image.Rect(0, 700, 310, 842), image.Rect(0, 820, 595, 842)} {
			if dark, _ := ink(img, r); dark != 0 {
				t.Errorf("%d pixels drawn in %v, outside the box", dark, r)
			}
		}
	})
	t.Run("pdffonts", func(t *testing.T) {
		needTool(t, "pdffonts")
		out, err := exec.Command("pdffonts", vis).CombinedOutput()
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`(?m)^[A-Z]{6}\+DejaVuSans\s+CID TrueType\s+Identity-H\s+yes\s+yes\s+yes\s`)
		if !re.Match(out) {
			t.Errorf("pdffonts:\n%s", out)
		}
	})
	t.Run("mutool", func(t *testing.T) {
		needTool(t, "mutool")
		mutoolClean(t, vis)
	})
	t.Run("pdfsig", func(t *testing.T) {
		needTool(t, "pdfsig")
		nss := pki.nssDB(t)
		blocks := pdfsig(t, nss, vis)
		if len(blocks) != 2 {
			t.Fatalf("pdfsig found %d signatures:\n%s", len(blocks), strings.Join(blocks, ""))
		}
		for i, b := range blocks {
			if !strings.Contains(b, "Signature Validation: Signature is Valid.") {
				t.Errorf("signature %d not valid:\n%s", i+1, b)
			}
		}
	})
}

// mutoolClean renders page 1 with MuPDF and fails on any message but the
// one its Debian build prints for every file.
func mutoolClean(t *testing.T, file string) {
	t.Helper()
	out, err := exec.Command("mutool", "draw", "-q", "-o", filepath.Join(t.TempDir(), "page.png"), file, "1").CombinedOutput()
	if err != nil {
		t.Fatalf("mutool draw: %v\n%s", err, out)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" && l != "warning: ICC support is not available" {
			t.Errorf("mutool draw: %s", l)
		}
	}
}

// TestVisibleSignatureRotatedPages: on a page shown turned (/Rotate), the
// default box is still at the bottom right as the reader sees it, and the
// text in it reads upright, left to right, top to bottom.
func TestVisibleSignatureRotatedPages(t *testing.T) {
	needTool(t, "pdftoppm", "pdftotext")
	font := systemFont(t)
	dir := t.TempDir()
	for _, rot := range []int{0, 90, 180, 270, -90} {
		t.Run(fmt.Sprintf("ok/rotate %d", rot), func(t *testing.T) {
			in := onePagePDF(fmt.Sprintf("/Rotate %d", rot))
			signed, _, err := signMem(t, in, pdf.SignOptions{Appearance: &pdf.Appearance{Font: font, Lines: []string{"Nguyễn Văn Ấn", "Ủy ban nhân dân tỉnh Bắc Ninh"}}})
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, fmt.Sprintf("rot%d.pdf", rot))
			if err := os.WriteFile(file, signed, 0o600); err != nil {
				t.Fatal(err)
			}
			img := render(t, file, 1)
			w, h := 595, 842
			if rot == 90 || rot == 270 || rot == -90 {
				w, h = h, w
			}
			if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
				t.Fatalf("rendered %v", b)
			}
			// Where ink is: the box, as seen, 36 pt from the bottom right.
			minX, minY, maxX, maxY := w, h, 0, 0
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					if d, _ := ink(img, image.Rect(x, y, x+1, y+1)); d > 0 {
						minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
					}
				}
			}
			want := image.Rect(w-36-240, h-36-80, w-36, h-36)
			if got := image.Rect(minX, minY, maxX+1, maxY+1); !near(got, want, 2) {
				t.Errorf("ink in %v, want the box %v", got, want)
			}
			// Upright: words are wider than high, the first line is above
			// the second, and its words run left to right.
			out, err := exec.Command("pdftotext", "-bbox", file, "-").Output()
			if err != nil {
				t.Fatal(err)
			}
			words := map[string][4]float64{}
			re := regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)
			for _, m := range re.FindAllStringSubmatch(string(out), -1) {
				var b [4]float64
				for i := range b {
					b[i], _ = strconv.ParseFloat(m[i+1], 64)
				}
				words[m[5]] = b
			}
			n, v, u := words["Nguyễn"], words["Văn"], words["Ủy"]
			if n[2]-n[0] <= n[3]-n[1] || n[1] >= u[1] || n[0] >= v[0] || math.Abs(n[1]-v[1]) > 1 {
				t.Errorf("text not upright: Nguyễn %v, Văn %v, Ủy %v\n%s", n, v, u, out)
			}
		})
	}
}

func near(a, b image.Rectangle, tol int) bool {
	abs := func(v int) int { return max(v, -v) }
	return abs(a.Min.X-b.Min.X) <= tol && abs(a.Min.Y-b.Min.Y) <= tol && abs(a.Max.X-b.Max.X) <= tol && abs(a.Max.Y-b.Max.Y) <= tol
}

// TestVisibleSignaturePageAndRect: the box goes on the page asked, at the
// rectangle asked, and nowhere else.
func TestVisibleSignaturePageAndRect(t *testing.T) {
	font := systemFont(t)
	in := testPDF(3, 0)
	rect := [4]float64{100, 400, 400, 500}
	signed, _, err := signMem(t, in, pdf.SignOptions{Appearance: &pdf.Appearance{Page: 2, Rect: [4]float64{400, 500, 100, 400}, Font: font, Lines: testLines}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "page2.pdf")
	if err := os.WriteFile(file, signed, 0o600); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(signed, []byte("/Rect [100 400 400 500]")) {
		t.Error("the rectangle is not normalised into /Rect")
	}
	for page := 1; page <= 3; page++ {
		img := render(t, file, page)
		dark, _ := ink(img, pixelRect(rect, 842, 2))
		if (dark > 500) != (page == 2) {
			t.Errorf("page %d: %d pixels drawn in the box", page, dark)
		}
	}
}

// TestVisibleSignatureImages: PNG (opaque or with alpha, as a soft mask)
// and JPEG (passed through) seals, alone in the box when there is no text.
func TestVisibleSignatureImages(t *testing.T) {
	needTool(t, "qpdf")
	var jb bytes.Buffer
	rgb := image.NewRGBA(image.Rect(0, 0, 90, 60))
	for i := range rgb.Pix {
		if i%4 == 0 || i%4 == 3 {
			rgb.Pix[i] = 255 // red, opaque
		}
	}
	if err := jpeg.Encode(&jb, rgb, nil); err != nil {
		t.Fatal(err)
	}
	var gb bytes.Buffer
	if err := jpeg.Encode(&gb, image.NewGray(image.Rect(0, 0, 40, 40)), nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		name       string
		img        []byte
		want, not  []string
		redAtLeast int
	}{
		{"ok/png alpha", sealPNG(t, true), []string{"/SMask", "/FlateDecode", "/DeviceRGB"}, nil, 1000},
		{"ok/png opaque", sealPNG(t, false), []string{"/FlateDecode"}, []string{"/SMask"}, 1000},
		{"ok/jpeg", jb.Bytes(), []string{"/DCTDecode", "/DeviceRGB"}, []string{"/SMask"}, 5000},
		{"ok/jpeg gray", gb.Bytes(), []string{"/DCTDecode", "/DeviceGray"}, nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			signed, _, err := signMem(t, pdftest.Tiny(), pdf.SignOptions{Appearance: &pdf.Appearance{Image: parseImage(t, c.img)}})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.want {
				if !bytes.Contains(signed, []byte(s)) {
					t.Errorf("no %s", s)
				}
			}
			for _, s := range c.not {
				if bytes.Contains(signed, []byte(s)) {
					t.Errorf("%s where there should be none", s)
				}
			}
			file := filepath.Join(dir, strings.ReplaceAll(c.name, "/", "-")+".pdf")
			if err := os.WriteFile(file, signed, 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("qpdf", "--check", file).CombinedOutput(); err != nil {
				t.Fatalf("qpdf --check: %v\n%s", err, out)
			}
			img := render(t, file, 1)
			box := [4]float64{319, 36, 559, 116}
			dark, red := ink(img, pixelRect(box, 842, 2))
			if dark == 0 || red < c.redAtLeast {
				t.Errorf("%d pixels drawn, %d red", dark, red)
			}
		})
	}
}

func TestAppearanceRefuses(t *testing.T) {
	font := systemFont(t)
	tiny := pdftest.Tiny()
	for _, c := range []struct {
		name string
		a    pdf.Appearance
		key  string
	}{
		{"fail/lines without a font", pdf.Appearance{Lines: []string{"Nguyễn"}}, "pdf.error.no_appearance_font"},
		{"fail/negative page", pdf.Appearance{Page: -1, Font: font}, "pdf.error.bad_appearance_page"},
		{"fail/page beyond the last", pdf.Appearance{Page: 2, Font: font}, "pdf.error.bad_appearance_page"},
		{"fail/rect not a number", pdf.Appearance{Rect: [4]float64{0, 0, math.NaN(), 10}}, "pdf.error.bad_appearance_rect"},
		{"fail/rect without area", pdf.Appearance{Rect: [4]float64{10, 10, 10, 100}}, "pdf.error.bad_appearance_rect"},
		{"fail/rect off the page", pdf.Appearance{Rect: [4]float64{600, 900, 800, 1000}}, "pdf.error.bad_appearance_rect"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := signMem(t, tiny, pdf.SignOptions{Appearance: &c.a})
			wantKey(t, err, kernel.Invalid, c.key)
		})
	}
}

// TestInvisibleUnchanged: without an appearance the widget stays an empty
// rectangle on page 1 with no appearance stream, as before.
func TestInvisibleUnchanged(t *testing.T) {
	signed, _, err := signMem(t, testPDF(2, 0), pdf.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	update := signed[len(testPDF(2, 0)):]
	if !bytes.Contains(update, []byte("<</F 132/FT /Sig/P 5 0 R/Rect [0 0 0 0]/Subtype /Widget/T (Signature1)/Type /Annot/V 10 0 R>>")) || bytes.Contains(update, []byte("/AP")) {
		t.Errorf("invisible widget changed:\n%s", update[:min(len(update), 600)])
	}
}

func TestParseImageRefuses(t *testing.T) {
	good := sealPNG(t, true)
	huge := bytes.Clone(good)
	// IHDR is the first chunk: width at 16, then its CRC at 29.
	copy(huge[16:], []byte{0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10}) // 10000×10000
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"fail/empty", nil},
		{"fail/not an image", []byte("GIF89a not supported")},
		{"fail/truncated png", good[:len(good)/2]},
		{"fail/png too large", fixPNGCRC(huge)},
		{"fail/truncated jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := pdf.ParseImage(c.b)
			wantKey(t, err, kernel.Invalid, "pdf.error.bad_image")
		})
	}
}

// fixPNGCRC recomputes the checksum of a PNG's IHDR chunk after a patch,
// so that the decoder reads the patched size instead of refusing the CRC.
func fixPNGCRC(b []byte) []byte {
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}
