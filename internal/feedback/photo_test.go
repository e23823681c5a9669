package feedback_test

import (
	"bytes"
	"image/jpeg"
	"testing"

	"civitas/internal/feedback"
	"civitas/internal/kernel"
)

// storedPhotos returns the stored photos and thumbnails of a report.
func storedPhotos(t *testing.T, e *env, id string) (photos, thumbs [][]byte) {
	t.Helper()
	d, err := e.s.ReporterReport(e.ctx, feedback.Reporter{AccountID: citizen}, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Photos {
		for _, thumb := range []bool{false, true} {
			b, err := e.s.Photo(e.ctx, p.ID, thumb, func(feedback.Report) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			if thumb {
				thumbs = append(thumbs, b)
			} else {
				photos = append(photos, b)
			}
		}
	}
	return photos, thumbs
}

// jpegSegments lists the marker bytes of a JPEG's segments up to its scan.
func jpegSegments(b []byte) []byte {
	var out []byte
	for i := 2; i+4 <= len(b) && b[i] == 0xFF; {
		m := b[i+1]
		out = append(out, m)
		if m == 0xDA {
			break
		}
		i += 2 + int(b[i+2])<<8 | int(b[i+3])
	}
	return out
}

// A photo with EXIF (GPS, the camera owner's name, an orientation) is kept
// without a byte of it: no APP segment at all, upright, and its
// thumbnail the same.
func TestPhotoMetadataStripped(t *testing.T) {
	e := newEnv(t)
	src := withEXIF(jpegOf(400, 300), 6) // taken turned: shown 300 wide, 400 high
	if !bytes.Contains(src, []byte(gpsSecret)) {
		t.Fatal("the test photo has no EXIF")
	}
	id := e.submit(citizen, "urban_infrastructure", src, pngOf(50, 40)).Report.ID
	photos, thumbs := storedPhotos(t, e, id)
	if len(photos) != 2 || len(thumbs) != 2 {
		t.Fatalf("%d photos, %d thumbnails", len(photos), len(thumbs))
	}
	for i, b := range append(photos, thumbs...) {
		if bytes.Contains(b, []byte("Exif")) || bytes.Contains(b, []byte(gpsSecret)) || bytes.Contains(b, []byte("GPS")) {
			t.Errorf("stored image %d keeps metadata", i)
		}
		for _, m := range jpegSegments(b) {
			if m >= 0xE0 && m <= 0xEF || m == 0xFE {
				t.Errorf("stored image %d has segment %#x", i, m)
			}
		}
		if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("stored image %d is not a JPEG: %v", i, err)
		}
	}
	img, err := jpeg.Decode(bytes.NewReader(photos[0]))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 300 || b.Dy() != 400 {
		t.Fatalf("not turned upright: %v", b)
	}
	// The red block was top left; turned clockwise it is top right.
	if r, g, _, _ := img.At(280, 20).RGBA(); r>>8 < 180 || g>>8 > 80 {
		t.Fatalf("top right is not red after turning: %d %d", r>>8, g>>8)
	}
}

// Big photos are kept at most 2048 pixels long, thumbnails 320.
func TestPhotoSizes(t *testing.T) {
	e := newEnv(t)
	id := e.submit(citizen, "traffic", jpegOf(3000, 1000)).Report.ID
	photos, thumbs := storedPhotos(t, e, id)
	for _, c := range []struct {
		b    []byte
		w, h int
	}{{photos[0], 2048, 682}, {thumbs[0], 320, 106}} {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(c.b))
		if err != nil || cfg.Width != c.w || cfg.Height != c.h {
			t.Fatalf("%dx%d, want %dx%d (%v)", cfg.Width, cfg.Height, c.w, c.h, err)
		}
	}
}

// What is not a JPEG or a PNG, what is broken, and what would decode to
// more pixels than allowed are refused with a clear error before anything
// is decoded or kept.
func TestPhotoRefused(t *testing.T) {
	e := newEnv(t)
	heic := append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 100)...)
	gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	truncated := jpegOf(200, 200)
	truncated = truncated[:len(truncated)/2]
	for _, tt := range []struct {
		name  string
		photo []byte
		key   string
	}{
		{"fail/HEIC asks for JPEG or PNG", heic, "feedback.error.photo_heic"},
		{"fail/GIF", gif, "feedback.error.photo_type"},
		{"fail/a script", []byte("#!/bin/sh\nrm -rf /\n"), "feedback.error.photo_type"},
		{"fail/empty", []byte{}, "feedback.error.photo_type"},
		{"fail/PNG bomb", bombPNG(100_000, 100_000), "feedback.error.photo_pixels"},
		{"fail/PNG one pixel high, a billion wide", bombPNG(1_000_000_000, 1), "feedback.error.photo_pixels"},
		{"fail/JPEG bomb", bombJPEG(65_000, 65_000), "feedback.error.photo_pixels"},
		{"fail/JPEG header only", jpegOf(8, 8)[:20], "feedback.error.photo_broken"},
		{"fail/truncated JPEG", truncated, "feedback.error.photo_broken"},
		{"fail/too many bytes", append(jpegOf(8, 8), make([]byte, feedback.MaxPhotoBytes)...), "feedback.error.photo_bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.s.Submit(e.as(citizen), feedback.Draft{Category: "traffic", Place: feedback.Place{Lat: 12.68, Lon: 108.05},
				Description: "Ảnh kèm theo", Photos: [][]byte{tt.photo}}, feedback.Origin{Channel: feedback.ChannelDemo})
			key, _ := kernel.ErrorKey(err)
			if kernel.ErrorCode(err) != kernel.Invalid || key != tt.key {
				t.Fatalf("err = %v, want %s", err, tt.key)
			}
		})
	}
	var n int
	if err := e.d.QueryRow(e.ctx, `SELECT COUNT(*) FROM feedback_photos`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d photos kept, %v", n, err)
	}
}
