package feedback

import (
	"image"
	"image/color"
)

// planes is an image as three full-resolution 8-bit planes of JPEG's
// YCbCr (4:4:4), which the JPEG encoder takes without conversion.
type planes struct {
	w, h      int
	y, cb, cr []uint8
}

func (p planes) image() *image.YCbCr {
	return &image.YCbCr{Y: p.y, Cb: p.cb, Cr: p.cr, YStride: p.w, CStride: p.w,
		SubsampleRatio: image.YCbCrSubsampleRatio444, Rect: image.Rect(0, 0, p.w, p.h)}
}

// fitWithin returns the size of a w×h image scaled down (never up) to fit
// within long pixels on its longer side.
func fitWithin(w, h, long int) (int, int) {
	if w <= long && h <= long {
		return w, h
	}
	if w >= h {
		return long, max(1, int(int64(h)*int64(long)/int64(w)))
	}
	return max(1, int(int64(w)*int64(long)/int64(h))), long
}

// downscale averages src into a dw×dh image (a box filter: every source
// pixel counts once, in the output pixel it falls in), reading one source
// row at a time, so it needs no more memory than the output. dw and dh
// must not exceed src's size. Transparent pixels are laid over white.
func downscale(src image.Image, dw, dh int) planes {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	out := planes{w: dw, h: dh, y: make([]uint8, dw*dh), cb: make([]uint8, dw*dh), cr: make([]uint8, dw*dh)}
	xmap := make([]int32, sw)
	colCount := make([]uint32, dw)
	for x := range sw {
		ox := int(int64(x) * int64(dw) / int64(sw))
		xmap[x] = int32(ox)
		colCount[ox]++
	}
	accY, accB, accR := make([]uint32, dw), make([]uint32, dw), make([]uint32, dw)
	ry, rb, rr := make([]uint8, sw), make([]uint8, sw), make([]uint8, sw)
	read := rowReader(src)
	cur, rows := 0, uint32(0)
	flush := func(oy int) {
		o := oy * dw
		for ox := range dw {
			n := colCount[ox] * rows
			half := n / 2
			out.y[o+ox] = uint8((accY[ox] + half) / n)
			out.cb[o+ox] = uint8((accB[ox] + half) / n)
			out.cr[o+ox] = uint8((accR[ox] + half) / n)
		}
		clear(accY)
		clear(accB)
		clear(accR)
	}
	for y := range sh {
		oy := int(int64(y) * int64(dh) / int64(sh))
		if oy != cur {
			flush(cur)
			cur, rows = oy, 0
		}
		read(y, ry, rb, rr)
		for x, ox := range xmap {
			accY[ox] += uint32(ry[x])
			accB[ox] += uint32(rb[x])
			accR[ox] += uint32(rr[x])
		}
		rows++
	}
	flush(cur)
	return out
}

// rowReader returns a function that fills one row (0-based) of src as
// Y, Cb and Cr samples, with fast paths for what the JPEG and PNG decoders
// return.
func rowReader(src image.Image) func(y int, ry, rb, rr []uint8) {
	b := src.Bounds()
	switch m := src.(type) {
	case *image.YCbCr:
		hs, vs := 0, 0 // chroma's horizontal and vertical shifts
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio422:
			hs = 1
		case image.YCbCrSubsampleRatio420:
			hs, vs = 1, 1
		case image.YCbCrSubsampleRatio440:
			vs = 1
		case image.YCbCrSubsampleRatio411:
			hs = 2
		case image.YCbCrSubsampleRatio410:
			hs, vs = 2, 1
		}
		return func(y int, ry, rb, rr []uint8) {
			sy := b.Min.Y + y
			copy(ry, m.Y[(sy-m.Rect.Min.Y)*m.YStride+(b.Min.X-m.Rect.Min.X):])
			cy := (sy>>vs - m.Rect.Min.Y>>vs) * m.CStride
			cx0 := m.Rect.Min.X >> hs
			if hs == 1 && b.Min.X&1 == 0 {
				// 4:2:0 and 4:2:2, the cameras' own: each chroma sample twice.
				cb, cr := m.Cb[cy+b.Min.X>>1-cx0:], m.Cr[cy+b.Min.X>>1-cx0:]
				for x := 0; x+1 < len(ry); x += 2 {
					rb[x], rb[x+1] = cb[x>>1], cb[x>>1]
					rr[x], rr[x+1] = cr[x>>1], cr[x>>1]
				}
				if n := len(ry); n&1 == 1 {
					rb[n-1], rr[n-1] = cb[(n-1)>>1], cr[(n-1)>>1]
				}
				return
			}
			for x := range ry {
				ci := cy + (b.Min.X+x)>>hs - cx0
				rb[x], rr[x] = m.Cb[ci], m.Cr[ci]
			}
		}
	case *image.Gray:
		return func(y int, ry, rb, rr []uint8) {
			copy(ry, m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):])
			fill(rb, 128)
			fill(rr, 128)
		}
	case *image.Gray16:
		return func(y int, ry, rb, rr []uint8) {
			p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range ry {
				ry[x] = p[2*x]
			}
			fill(rb, 128)
			fill(rr, 128)
		}
	case *image.NRGBA:
		return func(y int, ry, rb, rr []uint8) {
			p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range ry {
				a := uint32(p[4*x+3])
				r, g, bl := overWhite(uint32(p[4*x]), a), overWhite(uint32(p[4*x+1]), a), overWhite(uint32(p[4*x+2]), a)
				ry[x], rb[x], rr[x] = color.RGBToYCbCr(r, g, bl)
			}
		}
	case *image.RGBA:
		return func(y int, ry, rb, rr []uint8) {
			p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range ry {
				w := 255 - p[4*x+3] // premultiplied: add white for what is transparent
				ry[x], rb[x], rr[x] = color.RGBToYCbCr(sat(p[4*x], w), sat(p[4*x+1], w), sat(p[4*x+2], w))
			}
		}
	case *image.NRGBA64:
		return func(y int, ry, rb, rr []uint8) {
			p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range ry {
				a := uint32(p[8*x+6])
				r, g, bl := overWhite(uint32(p[8*x]), a), overWhite(uint32(p[8*x+2]), a), overWhite(uint32(p[8*x+4]), a)
				ry[x], rb[x], rr[x] = color.RGBToYCbCr(r, g, bl)
			}
		}
	case *image.RGBA64:
		return func(y int, ry, rb, rr []uint8) {
			p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range ry {
				w := 255 - p[8*x+6]
				ry[x], rb[x], rr[x] = color.RGBToYCbCr(sat(p[8*x], w), sat(p[8*x+2], w), sat(p[8*x+4], w))
			}
		}
	case *image.Paletted:
		var lut [256][3]uint8
		for i, c := range m.Palette {
			r, g, bl, a := c.RGBA()
			w := 255 - uint8(a>>8)
			lut[i][0], lut[i][1], lut[i][2] = color.RGBToYCbCr(sat(uint8(r>>8), w), sat(uint8(g>>8), w), sat(uint8(bl>>8), w))
		}
		return func(y int, ry, rb, rr []uint8) {
			p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range ry {
				c := lut[p[x]]
				ry[x], rb[x], rr[x] = c[0], c[1], c[2]
			}
		}
	case *image.CMYK:
		return func(y int, ry, rb, rr []uint8) {
			p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range ry {
				r, g, bl := color.CMYKToRGB(p[4*x], p[4*x+1], p[4*x+2], p[4*x+3])
				ry[x], rb[x], rr[x] = color.RGBToYCbCr(r, g, bl)
			}
		}
	}
	return func(y int, ry, rb, rr []uint8) {
		for x := range ry {
			r, g, bl, a := src.At(b.Min.X+x, b.Min.Y+y).RGBA()
			w := 255 - uint8(a>>8)
			ry[x], rb[x], rr[x] = color.RGBToYCbCr(sat(uint8(r>>8), w), sat(uint8(g>>8), w), sat(uint8(bl>>8), w))
		}
	}
}

// overWhite lays a non-premultiplied channel c with alpha a over white.
func overWhite(c, a uint32) uint8 { return uint8((c*a + 255*(255-a) + 127) / 255) }

// sat adds w to c without passing 255.
func sat(c, w uint8) uint8 {
	if s := uint16(c) + uint16(w); s < 255 {
		return uint8(s)
	}
	return 255
}

func fill(b []uint8, v uint8) {
	for i := range b {
		b[i] = v
	}
}

// orient turns p upright by its EXIF orientation (1 to 8). Each row of
// the result walks the source with a fixed step, so the copy is a plain
// loop per row and plane.
func orient(p planes, o int) planes {
	if o <= 1 || o > 8 {
		return p
	}
	w, h := p.w, p.h
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	// start(y) is the source index of the row's first pixel; step is how
	// far the next pixel of the row is in the source.
	var start func(y int) int
	var step int
	switch o {
	case 2: // mirrored
		start, step = func(y int) int { return y*w + w - 1 }, -1
	case 3: // upside down
		start, step = func(y int) int { return (h-1-y)*w + w - 1 }, -1
	case 4: // mirrored upside down
		start, step = func(y int) int { return (h - 1 - y) * w }, 1
	case 5: // transposed
		start, step = func(y int) int { return y }, w
	case 6: // taken turned a quarter anticlockwise: turn it clockwise
		start, step = func(y int) int { return (h-1)*w + y }, -w
	case 7: // transversed
		start, step = func(y int) int { return (h-1)*w + w - 1 - y }, -w
	case 8: // taken turned a quarter clockwise: turn it anticlockwise
		start, step = func(y int) int { return w - 1 - y }, w
	}
	out := planes{w: dw, h: dh, y: make([]uint8, dw*dh), cb: make([]uint8, dw*dh), cr: make([]uint8, dw*dh)}
	// In tiles, so that a quarter turn, which reads the source down its
	// columns, reads few of its rows at a time and stays in the cache.
	const tile = 64
	for _, pl := range [3][2][]uint8{{out.y, p.y}, {out.cb, p.cb}, {out.cr, p.cr}} {
		dst, src := pl[0], pl[1]
		for y0 := 0; y0 < dh; y0 += tile {
			for x0 := 0; x0 < dw; x0 += tile {
				x1 := min(x0+tile, dw)
				for y := y0; y < min(y0+tile, dh); y++ {
					row := dst[y*dw+x0 : y*dw+x1]
					i := start(y) + x0*step
					for x := range row {
						row[x] = src[i]
						i += step
					}
				}
			}
		}
	}
	return out
}
