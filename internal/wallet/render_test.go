package wallet_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"civitas/internal/i18n"
	"civitas/internal/pdf"
	"civitas/internal/registry"
	"civitas/internal/wallet"
)

// pdfTool skips a test when a verifier nobody here wrote is not installed,
// but fails it in CI (CI=true), where .ci/run installs every one of them.
func pdfTool(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed, and CI must have it (.ci/run installs it)", n)
			}
			t.Skipf("%s not installed", n)
		}
	}
}

// pdfFont is the system font (DejaVu Sans from fonts-dejavu-core), parsed.
func pdfFont(t testing.TB) *pdf.Font {
	t.Helper()
	b, err := pdf.SystemFont()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no system font in CI: %v", err)
		}
		t.Skip("no system font (fonts-dejavu-core)")
	}
	f, err := pdf.ParseFont(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// permitType has a claim of every kind, so the page shows each.
func permitType() wallet.Type {
	label := func(vi, en, ar string) map[string]string { return map[string]string{"vi": vi, "en": en, "ar": ar} }
	return wallet.Type{Code: "construction_permit", Holder: wallet.HolderPerson, Issuers: []registry.AgencyKind{registry.PeopleCommittee},
		Names: label("Giấy phép xây dựng nhà ở riêng lẻ", "Building permit for a private house", "رخصة بناء منزل خاص"),
		Claims: []wallet.ClaimSpec{
			{Name: "full_name", Type: wallet.ClaimString, Labels: label("Họ và tên chủ đầu tư", "Full name of the owner", "الاسم الكامل للمالك")},
			{Name: "birth_date", Type: wallet.ClaimDate, Labels: label("Ngày sinh", "Date of birth", "تاريخ الميلاد")},
			{Name: "floors", Type: wallet.ClaimNumber, Labels: label("Số tầng", "Floors", "عدد الطوابق")},
			{Name: "heritage_zone", Type: wallet.ClaimBoolean, Labels: label("Trong vùng di sản", "In a heritage zone", "ضمن منطقة تراثية")},
			{Name: "address", Type: wallet.ClaimString, Labels: label("Địa điểm xây dựng", "Building site", "موقع البناء")},
			{Name: "conditions", Type: wallet.ClaimString, Labels: label("Điều kiện kèm theo giấy phép", "Conditions of the permit", "شروط الرخصة")},
		}}
}

// longConditions is a claim as long as the wallet allows (500 letters):
// far more than the six lines a value gets.
var longConditions = strings.TrimSpace(strings.Repeat("Chủ đầu tư phải thông báo khởi công trước bảy ngày và giữ vệ sinh môi trường. ", 6))

// messages is the catalogue, loaded once for the tests.
var messages = sync.OnceValues(i18n.Load)

func permitRendering(t testing.TB, lang string) wallet.Rendering {
	t.Helper()
	cat, err := messages()
	if err != nil {
		t.Fatal(err)
	}
	return wallet.Rendering{
		Type: permitType(),
		// 20:00 UTC is the next morning in Vietnam: the dates must be local.
		Document: wallet.Document{ID: "K7Q2M4X9ZT3W5R8N", IssuedAt: time.Date(2026, 3, 5, 20, 0, 0, 0, time.UTC),
			ExpiresAt: time.Date(2027, 3, 5, 20, 0, 0, 0, time.UTC)},
		Claims: map[string]any{"full_name": "Nguyễn Thị Ánh Tuyết", "birth_date": "1984-11-02", "floors": float64(4), "heritage_zone": true,
			"address": "Số 12 ngõ 34 phố Hàng Bạc, phường Hoàn Kiếm, thành phố Hà Nội", "conditions": longConditions},
		AgencyName: "Ủy ban nhân dân phường Hoàn Kiếm", Holder: "Nguyễn Thị Ánh Tuyết (001184012345)",
		Lang: lang, VerifyURL: "https://dichvucong.civitas.test/verify", T: cat.T,
	}
}

// pdfText is what pdftotext reads from a file, NFC, with every run of
// white space made one space.
func pdfText(t testing.TB, file string) string {
	t.Helper()
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", file, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	// poppler wraps right-to-left words in embedding marks.
	s := strings.NewReplacer("\u202a", "", "\u202b", "", "\u202c", "", "\u200e", "", "\u200f", "").Replace(string(out))
	return strings.Join(strings.Fields(norm.NFC.String(s)), " ")
}

var bboxWord = regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)

// wordBoxes checks with pdftotext -bbox that the file has one page and
// that every word lies inside its margins; it returns the words.
func wordBoxes(t testing.TB, file string) []string {
	t.Helper()
	out, err := exec.Command("pdftotext", "-bbox", file, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext -bbox: %v", err)
	}
	if n := strings.Count(string(out), "<page "); n != 1 {
		t.Fatalf("%d pages", n)
	}
	var words []string
	for _, m := range bboxWord.FindAllStringSubmatch(string(out), -1) {
		var v [4]float64
		for i := range v {
			v[i], _ = strconv.ParseFloat(m[i+1], 64)
		}
		if v[0] < 47 || v[2] > pdf.A4Width-47 || v[1] < 40 || v[3] > pdf.A4Height-40 {
			t.Errorf("word %q at %v runs into the margin or off the page", m[5], v)
		}
		words = append(words, m[5])
	}
	return words
}

func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func qpdfCheck(t testing.TB, file string) {
	t.Helper()
	if out, err := exec.Command("qpdf", "--check", file).CombinedOutput(); err != nil || !strings.Contains(string(out), "No syntax or stream encoding errors") {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
}

func TestRenderPDF(t *testing.T) {
	font := pdfFont(t)
	pdfTool(t, "qpdf", "pdftotext")
	for _, tc := range []struct {
		lang   string
		has    []string // besides the Vietnamese every rendering has
		hasNot []string
	}{
		{"vi", nil, []string{"Full name", "Issued on", "الاسم"}},
		{"en", []string{"Building permit for a private house", "Full name of the owner", "Date of birth", "Issuing agency", "Valid until",
			"Document ID", "Có / Yes", "This PDF is sealed electronically by Ủy ban nhân dân phường Hoàn Kiếm"}, []string{"الاسم"}},
		// Arabic words come back each in logical order (poppler keeps the
		// words of a right-to-left line in the page's order).
		// (Words with the lam-alef ligature are left out: poppler reads
		// its two letters back swapped.)
		{"ar", []string{"رخصة", "منزل", "الكامل", "للمالك", "الجهة", "المُصدِرة", "المحتوى", "نعم"}, []string{"Full name", "ىوتحملا", "كلاملل"}},
	} {
		t.Run("ok/"+tc.lang, func(t *testing.T) {
			r := permitRendering(t, tc.lang)
			b, err := wallet.RenderPDF(font, r)
			if err != nil {
				t.Fatal(err)
			}
			again, err := wallet.RenderPDF(font, r)
			if err != nil || !bytes.Equal(b, again) {
				t.Fatalf("a second rendering differs (%v)", err)
			}
			if _, err := pdf.Open(bytes.NewReader(b), int64(len(b))); err != nil {
				t.Fatalf("our own reader refuses it: %v", err)
			}
			file := writeTemp(t, "permit-"+tc.lang+".pdf", b)
			qpdfCheck(t, file)
			text := pdfText(t, file)
			words := wordBoxes(t, file)
			// The Vietnamese comes back exactly, whatever the reader's
			// language: the head, every label and value, the dates as
			// DD/MM/YYYY in Vietnam's time, and where to verify the seal.
			for _, want := range []string{
				"Ủy ban nhân dân phường Hoàn Kiếm", "Giấy phép xây dựng nhà ở riêng lẻ",
				"Cơ quan cấp", "Người được cấp", "Nguyễn Thị Ánh Tuyết (001184012345)",
				"Ngày cấp", "06/03/2026", "Có giá trị đến", "06/03/2027", "Mã giấy tờ", "K7Q2M4X9ZT3W5R8N", "Nội dung",
				"Họ và tên chủ đầu tư", "Nguyễn Thị Ánh Tuyết", "Ngày sinh", "02/11/1984", "Số tầng", "4", "Trong vùng di sản", "Có",
				"Địa điểm xây dựng", "Số 12 ngõ 34 phố Hàng Bạc, phường Hoàn Kiếm, thành phố Hà Nội",
				"Điều kiện kèm theo giấy phép", "Chủ đầu tư phải thông báo khởi công trước bảy ngày",
				"Bản PDF này được Ủy ban nhân dân phường Hoàn Kiếm niêm phong điện tử (chữ ký số). Kiểm tra chữ ký tại https://dichvucong.civitas.test/verify",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("pdftotext lacks %q:\n%s", want, text)
				}
			}
			for _, want := range tc.has {
				if !strings.Contains(text, want) {
					t.Errorf("pdftotext lacks %q:\n%s", want, text)
				}
			}
			for _, bad := range append(tc.hasNot, "2026-03-05", "1984-11-02") {
				if strings.Contains(text, bad) {
					t.Errorf("pdftotext shows %q", bad)
				}
			}
			// The long value is cut cleanly after six lines, inside the page.
			if strings.Count(text, "Chủ đầu tư phải thông báo") >= 6 || !strings.Contains(text, "…") {
				t.Errorf("the long value is not cut:\n%s", text)
			}
			if len(words) < 60 {
				t.Errorf("only %d words on the page", len(words))
			}
		})
	}
	t.Run("fail/no font", func(t *testing.T) {
		if _, err := wallet.RenderPDF(nil, permitRendering(t, "vi")); err == nil {
			t.Fatal("rendered without a font")
		}
	})
}

// TestRenderPDFManyClaims: the most claims a type may have (64), each long,
// still make one page with everything inside the margins: smaller text,
// then the last claims left out with a line saying how many.
func TestRenderPDFManyClaims(t *testing.T) {
	font := pdfFont(t)
	pdfTool(t, "qpdf", "pdftotext")
	for _, n := range []int{12, 64} {
		t.Run("ok/"+strconv.Itoa(n), func(t *testing.T) {
			r := permitRendering(t, "ar")
			r.Type.Claims = nil
			r.Claims = map[string]any{}
			for i := range n {
				name := "claim_" + strconv.Itoa(i)
				r.Type.Claims = append(r.Type.Claims, wallet.ClaimSpec{Name: name, Type: wallet.ClaimString,
					Labels: map[string]string{"vi": "Mục thứ " + strconv.Itoa(i+1), "en": "Item " + strconv.Itoa(i+1), "ar": "البند " + strconv.Itoa(i+1)}})
				r.Claims[name] = "Giá trị số " + strconv.Itoa(i+1)
				if n > 12 { // two lines of words, then a word of 90 letters cut into lines
					r.Claims[name] = "Giá trị số " + strconv.Itoa(i+1) + " " + strings.Repeat("rất dài ", 12) + strings.Repeat("X", 90)
				}
			}
			b, err := wallet.RenderPDF(font, r)
			if err != nil {
				t.Fatal(err)
			}
			file := writeTemp(t, "many.pdf", b)
			qpdfCheck(t, file)
			wordBoxes(t, file)
			text := pdfText(t, file)
			for _, want := range []string{"Mục thứ 1 ", "Giá trị số 1 ", "K7Q2M4X9ZT3W5R8N", "Kiểm tra chữ ký tại https://dichvucong.civitas.test/verify"} {
				if !strings.Contains(text+" ", want) {
					t.Errorf("lacks %q:\n%s", want, text)
				}
			}
			more := regexp.MustCompile(`Còn (\d+) mục nữa`).FindStringSubmatch(text)
			shown := strings.Count(text, "Giá trị số ")
			switch {
			case n == 12 && (more != nil || shown != 12):
				t.Errorf("12 claims: %d shown, %v more:\n%s", shown, more, text)
			case n == 64:
				if more == nil {
					t.Fatalf("64 claims, no line saying some are left out:\n%s", text)
				}
				if left, _ := strconv.Atoi(more[1]); left+shown != 64 || shown < 10 {
					t.Errorf("%d shown + %s left out, of 64", shown, more[1])
				}
			}
		})
	}
}

// FuzzRenderPDF: claim values come from agencies' systems; whatever they
// hold, the page is made (no panic, no error) and reads back as a PDF.
func FuzzRenderPDF(f *testing.F) {
	font := pdfFont(f)
	for _, s := range []string{"Nguyễn Thị Ánh", strings.Repeat("W", 600), "a\u0301\u0302\u0303 " + strings.Repeat("\u0301", 40), "محمد\u200d\u202e لا", "\x00\n\t\uFFFD", "  "} {
		f.Add(s, "ar")
	}
	f.Fuzz(func(t *testing.T, value, lang string) {
		if len(value) > 2000 {
			return
		}
		r := permitRendering(t, lang)
		r.Claims = map[string]any{"full_name": value, "address": value + " " + value, "conditions": value, "birth_date": value}
		r.Holder, r.AgencyName = value, value
		b, err := wallet.RenderPDF(font, r)
		if err != nil {
			t.Fatalf("%q: %v", value, err)
		}
		if _, err := pdf.Open(bytes.NewReader(b), int64(len(b))); err != nil {
			t.Fatalf("%q: unreadable: %v", value, err)
		}
	})
}
