package feedback

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"runtime"

	"golang.org/x/sync/semaphore"

	"civitas/internal/kernel"
)

// Limits of photos.
const (
	// MaxPhotoBytes bounds one uploaded photo: a 12-megapixel phone
	// photo is 3 to 8 MB.
	MaxPhotoBytes = 15 << 20
	// MaxPhotoPixels refuses decompression bombs: a small file whose
	// header promises an image that would fill the memory once decoded.
	MaxPhotoPixels = 50_000_000
	// StoredLongSide and ThumbLongSide are the longest sides of what is
	// kept: the photo as shown, and its thumbnail.
	StoredLongSide = 2048
	ThumbLongSide  = 320
	storedQuality  = 82
	thumbQuality   = 72
)

// collectAbove is the size of decoded pixels past which the pipeline
// collects the garbage as soon as a photo is decoded and shrunk.
const collectAbove = 8 << 20

// processedPhoto is a photo made safe to keep and show: re-encoded as
// JPEG, upright, without a byte of the original's metadata.
type processedPhoto struct {
	Image, Thumb  []byte
	Width, Height int
}

// photoPipeline decodes photos a bounded number at a time, within a
// bounded amount of memory for their decoded pixels.
type photoPipeline struct {
	budget  int64
	memory  *semaphore.Weighted
	workers *semaphore.Weighted
}

func newPhotoPipeline(budget int64, workers int) *photoPipeline {
	return &photoPipeline{budget: budget, memory: semaphore.NewWeighted(budget), workers: semaphore.NewWeighted(int64(workers))}
}

// Image formats, sniffed from the first bytes.
const (
	formatJPEG = "jpeg"
	formatPNG  = "png"
	formatHEIC = "heic"
)

func sniff(b []byte) string {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return formatJPEG
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return formatPNG
	case len(b) >= 12 && string(b[4:8]) == "ftyp":
		switch string(b[8:12]) {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1", "avif":
			return formatHEIC
		}
	}
	return ""
}

func errPhotoType() error           { return kernel.E(kernel.Invalid, "feedback.error.photo_type") }
func errPhotoHEIC() error           { return kernel.E(kernel.Invalid, "feedback.error.photo_heic") }
func errPhotoBroken() *kernel.Error { return kernel.E(kernel.Invalid, "feedback.error.photo_broken") }
func errPhotoPixels() error {
	return kernel.E(kernel.Invalid, "feedback.error.photo_pixels", MaxPhotoPixels/1_000_000)
}
func errPhotoBytes() error {
	return kernel.E(kernel.Invalid, "feedback.error.photo_bytes", MaxPhotoBytes>>20)
}

// cost checks what decoding b would cost before decoding it: its format,
// its size in pixels, and the bytes its decoded pixels take.
func (p *photoPipeline) cost(b []byte) (format string, orientation int, weight int64, err error) {
	if len(b) > MaxPhotoBytes {
		return "", 0, 0, errPhotoBytes()
	}
	format = sniff(b)
	var w, h int
	switch format {
	case formatHEIC:
		return "", 0, 0, errPhotoHEIC()
	case formatJPEG:
		info, err := scanJPEG(b)
		if err != nil {
			return "", 0, 0, errPhotoBroken().WithCause(err)
		}
		w, h, orientation = info.Width, info.Height, info.Orientation
		weight = info.Samples
		if info.Progressive {
			weight += 4 * info.Samples // the decoder keeps every coefficient as an int32
		}
		if info.Components == 4 {
			weight += 4 * int64(w) * int64(h) // then converts to CMYK
		}
	case formatPNG:
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			return "", 0, 0, errPhotoBroken().WithCause(err)
		}
		w, h, orientation = cfg.Width, cfg.Height, 1
		weight = int64(w) * int64(h) * bytesPerPixel(cfg.ColorModel)
	default:
		return "", 0, 0, errPhotoType()
	}
	if w <= 0 || h <= 0 || int64(w)*int64(h) > MaxPhotoPixels {
		return "", 0, 0, errPhotoPixels()
	}
	weight += int64(w) * 12 // row buffers and accumulators
	if weight > p.budget {
		return "", 0, 0, errPhotoPixels()
	}
	return format, orientation, weight, nil
}

func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel:
		return 1
	case color.Gray16Model:
		return 2
	case color.NRGBA64Model, color.RGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
}

// Process makes a photo safe to keep: it refuses what is not a JPEG or a
// PNG, what is broken, and what would decode too large; decodes it when
// the memory for it is free; and re-encodes it upright, at most
// StoredLongSide pixels long, with a thumbnail. Nothing of the original
// file but its pixels passes: no EXIF (GPS included), no XMP, no ICC
// profile, no comment.
func (p *photoPipeline) Process(ctx context.Context, b []byte) (processedPhoto, error) {
	format, orientation, weight, err := p.cost(b)
	if err != nil {
		return processedPhoto{}, err
	}
	if err := p.workers.Acquire(ctx, 1); err != nil {
		return processedPhoto{}, kernel.E(kernel.Unavailable, "feedback.error.busy").WithCause(err)
	}
	defer p.workers.Release(1)
	if err := p.memory.Acquire(ctx, weight); err != nil {
		return processedPhoto{}, kernel.E(kernel.Unavailable, "feedback.error.busy").WithCause(err)
	}
	stored, err := decodeAndShrink(b, format)
	if weight >= collectAbove {
		// The decoded original — tens of megabytes — is garbage from here.
		// Collected now, its memory serves the next photo; left to the
		// collector's pace (GOGC=400 in serve: at five times the live
		// heap), eight photos at once would hold several hundred MiB.
		runtime.GC()
	}
	p.memory.Release(weight)
	if err != nil {
		return processedPhoto{}, err
	}
	stored = orient(stored, orientation)
	var out processedPhoto
	out.Width, out.Height = stored.w, stored.h
	if out.Image, err = encodeJPEG(stored, storedQuality); err != nil {
		return processedPhoto{}, err
	}
	tw, th := fitWithin(stored.w, stored.h, ThumbLongSide)
	if out.Thumb, err = encodeJPEG(downscale(stored.image(), tw, th), thumbQuality); err != nil {
		return processedPhoto{}, err
	}
	return out, nil
}

// decodeAndShrink decodes b and averages it down to the stored size.
func decodeAndShrink(b []byte, format string) (planes, error) {
	var img image.Image
	var err error
	if format == formatJPEG {
		img, err = jpeg.Decode(bytes.NewReader(b))
	} else {
		img, err = png.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return planes{}, errPhotoBroken().WithCause(err)
	}
	bd := img.Bounds()
	w, h := fitWithin(bd.Dx(), bd.Dy(), StoredLongSide)
	return downscale(img, w, h), nil
}

func encodeJPEG(p planes, quality int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(p.w * p.h / 4)
	if err := jpeg.Encode(&buf, p.image(), &jpeg.Options{Quality: quality}); err != nil {
		return nil, kernel.Wrap(err, "feedback: encode photo")
	}
	return buf.Bytes(), nil
}
