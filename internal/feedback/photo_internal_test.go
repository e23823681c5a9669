package feedback

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"civitas/internal/kernel"
)

func TestScanJPEG(t *testing.T) {
	var b bytes.Buffer
	img := image.NewYCbCr(image.Rect(0, 0, 33, 17), image.YCbCrSubsampleRatio420)
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	info, err := scanJPEG(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	// 4:2:0 in 16×16 MCUs: 3×2 MCUs, luma 48×32, chroma 24×16 twice.
	if info.Width != 33 || info.Height != 17 || info.Components != 3 || info.Progressive || info.Samples != 48*32+2*24*16 || info.Orientation != 1 {
		t.Fatalf("%+v", info)
	}
	for _, bad := range [][]byte{nil, {0xFF}, {0xFF, 0xD8}, {0xFF, 0xD8, 0xFF, 0xD9}, {0xFF, 0xD8, 0xFF, 0xC3, 0, 4, 0, 0}, b.Bytes()[:30]} {
		if _, err := scanJPEG(bad); err == nil {
			t.Errorf("accepted % x", bad)
		}
	}
}

func TestOrient(t *testing.T) {
	// A 3×2 image whose pixels are numbered; each orientation's result as
	// the EXIF specification draws it.
	p := planes{w: 3, h: 2, y: []uint8{1, 2, 3, 4, 5, 6}, cb: make([]uint8, 6), cr: make([]uint8, 6)}
	for _, tt := range []struct {
		o    int
		w, h int
		want []uint8
	}{
		{1, 3, 2, []uint8{1, 2, 3, 4, 5, 6}},
		{2, 3, 2, []uint8{3, 2, 1, 6, 5, 4}},
		{3, 3, 2, []uint8{6, 5, 4, 3, 2, 1}},
		{4, 3, 2, []uint8{4, 5, 6, 1, 2, 3}},
		{5, 2, 3, []uint8{1, 4, 2, 5, 3, 6}},
		{6, 2, 3, []uint8{4, 1, 5, 2, 6, 3}},
		{7, 2, 3, []uint8{6, 3, 5, 2, 4, 1}},
		{8, 2, 3, []uint8{3, 6, 2, 5, 1, 4}},
	} {
		got := orient(p, tt.o)
		if got.w != tt.w || got.h != tt.h || !bytes.Equal(got.y, tt.want) {
			t.Errorf("orientation %d: %dx%d %v, want %dx%d %v", tt.o, got.w, got.h, got.y, tt.w, tt.h, tt.want)
		}
	}
}

// The box filter averages: a 4×4 image of two colours halves into the
// mean of each 2×2 block.
func TestDownscale(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	for i := range img.Pix {
		if i%4 < 2 {
			img.Pix[i] = 200
		} else {
			img.Pix[i] = 100
		}
	}
	img.Pix[0] = 0 // one dark pixel in the first block
	got := downscale(img, 2, 2)
	if want := []uint8{150, 100, 200, 100}; !bytes.Equal(got.y, want) {
		t.Fatalf("%v, want %v", got.y, want)
	}
	if got.cb[0] != 128 || got.cr[3] != 128 {
		t.Fatalf("grey has colour: %v %v", got.cb, got.cr)
	}
	// Transparency lies over white.
	n := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	n.Set(0, 0, color.NRGBA{0, 0, 0, 0})
	if g := downscale(n, 1, 1); g.y[0] != 255 {
		t.Fatalf("transparent pixel: %d", g.y[0])
	}
}

// Whatever bytes come, the pipeline answers with a photo that is a JPEG
// without metadata, or an Invalid error: never a panic, never anything else.
func FuzzPhoto(f *testing.F) {
	var b bytes.Buffer
	_ = jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 9, 7)), nil)
	f.Add(b.Bytes())
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"))
	f.Add(append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x1A}, []byte("Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00")...))
	p := newPhotoPipeline(64<<20, 1)
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, err := exifOrientationSafe(in); err != nil {
			t.Fatal(err)
		}
		out, err := p.Process(context.Background(), in)
		if err != nil {
			if kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("error %v is not Invalid", err)
			}
			return
		}
		if _, err := jpeg.Decode(bytes.NewReader(out.Image)); err != nil {
			t.Fatalf("output is not a JPEG: %v", err)
		}
		if bytes.Contains(out.Image, []byte("Exif")) || out.Width > StoredLongSide || out.Height > StoredLongSide {
			t.Fatalf("output %dx%d keeps metadata or size", out.Width, out.Height)
		}
	})
}

// exifOrientationSafe runs the EXIF reader over every APP1-looking place.
func exifOrientationSafe(b []byte) (int, error) {
	for i := range b {
		if o := exifOrientation(b[i:]); o < 0 || o > 8 {
			return o, nil
		}
	}
	return 0, nil
}

func TestTrackingCode(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c := newTrackingCode()
		n, ok := normalizeTrackingCode(c)
		if !ok || n != c || len(c) != 14 || seen[c] {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
	}
	for _, in := range []string{"", "ABCD", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JKM0", "ABCD EFGH JKMI", "ĂBCD-EFGH-JKMN"} {
		if _, ok := normalizeTrackingCode(in); ok {
			t.Errorf("accepted %q", in)
		}
	}
	if n, ok := normalizeTrackingCode(" abcd efgh-jkmn "); !ok || n != "ABCD-EFGH-JKMN" {
		t.Errorf("typed: %q %v", n, ok)
	}
}
