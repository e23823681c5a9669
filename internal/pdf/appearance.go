package pdf

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"strconv"

	"civitas/internal/kernel"
)

// Appearance is a visible signature: a box on a page with lines of text
// (the signer, the time, the reason…) and perhaps a seal image on its left.
// Without one, a signature is an invisible widget, as PAdES allows.
type Appearance struct {
	// Page is the page the box is drawn on, counting from 1 (default 1).
	Page int
	// Rect is the box in the page's default user space (x1 y1 x2 y2). All
	// zero means a 240×80 pt box at the bottom right of the visible page
	// (the CropBox), as the reader sees it, whatever the page's /Rotate.
	Rect [4]float64
	// Lines are drawn one under the other, in the order given, in a size
	// that fits the longest; a line whose first strong character is
	// right-to-left (Arabic) is aligned right.
	Lines []string
	// Image is drawn on the left part of the box (the whole box when
	// there are no lines), its aspect ratio kept. Optional.
	Image *Image
	// Font draws the lines; required when there are any. Parse it once
	// (ParseFont) and keep it: each signature embeds a subset of it.
	Font *Font
}

// Default size and margin of the box when Rect is zero, in points.
const (
	defaultBoxW   = 240
	defaultBoxH   = 80
	defaultMargin = 36
)

// Limits on seal images: a seal is a few hundred pixels wide.
const (
	maxImageBytes  = 16 << 20
	maxImageSide   = 4096
	maxImagePixels = 4 << 20
)

func (a *Appearance) check() error {
	if a.Page < 0 {
		return kernel.E(kernel.Invalid, "pdf.error.bad_appearance_page")
	}
	if len(a.Lines) > 0 && a.Font == nil {
		return kernel.E(kernel.Invalid, "pdf.error.no_appearance_font")
	}
	if a.Rect != [4]float64{} {
		for _, v := range a.Rect {
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e6 {
				return kernel.E(kernel.Invalid, "pdf.error.bad_appearance_rect")
			}
		}
		if a.Rect[0] == a.Rect[2] || a.Rect[1] == a.Rect[3] {
			return kernel.E(kernel.Invalid, "pdf.error.bad_appearance_rect")
		}
	}
	return nil
}

// pageGeometry is what drawing on a page needs: its visible box and how
// it is turned when shown.
type pageGeometry struct {
	crop   [4]float64 // the CropBox within the MediaBox, normalised
	rotate int        // 0, 90, 180 or 270, clockwise when shown
}

// geometry reads the boxes and rotation of a page, with the values it
// inherits from the page tree in inh.
func (d *Document) geometry(page, inh Dict) pageGeometry {
	get := func(k Name) Object {
		if v, ok := page[k]; ok {
			return v
		}
		return inh[k]
	}
	media, ok := d.box(get("MediaBox"))
	if !ok {
		media = [4]float64{0, 0, 612, 792}
	}
	g := pageGeometry{crop: media}
	if c, ok := d.box(get("CropBox")); ok {
		c = [4]float64{max(c[0], media[0]), max(c[1], media[1]), min(c[2], media[2]), min(c[3], media[3])}
		if c[0] < c[2] && c[1] < c[3] {
			g.crop = c
		}
	}
	if r, err := d.resolve(get("Rotate")); err == nil {
		if n, ok := r.(Int); ok {
			g.rotate = int(((n%360)+360)%360) / 90 * 90
		}
	}
	return g
}

// box reads a rectangle, normalised; false if it is not one.
func (d *Document) box(o Object) ([4]float64, bool) {
	o, err := d.resolve(o)
	a, ok := o.(Array)
	if err != nil || !ok || len(a) != 4 {
		return [4]float64{}, false
	}
	var r [4]float64
	for i, e := range a {
		e, err := d.resolve(e)
		if err != nil {
			return r, false
		}
		switch v := e.(type) {
		case Int:
			r[i] = float64(v)
		case Real:
			r[i] = float64(v)
		default:
			return r, false
		}
		if math.IsNaN(r[i]) || math.IsInf(r[i], 0) {
			return r, false
		}
	}
	r = [4]float64{min(r[0], r[2]), min(r[1], r[3]), max(r[0], r[2]), max(r[1], r[3])}
	return r, r[0] < r[2] && r[1] < r[3]
}

// pageAt finds page n (from 1) by walking the page tree in order, with the
// attributes it inherits. Each node is visited once, so loops in a
// damaged tree end.
func (d *Document) pageAt(cat Dict, n int) (Ref, Dict, Dict, error) {
	type frame struct {
		node Object
		inh  Dict
	}
	stack := []frame{{cat["Pages"], Dict{}}}
	seen := map[Ref]bool{}
	count := 0
	for len(stack) > 0 {
		fr := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ref, ok := fr.node.(Ref)
		if !ok || seen[ref] {
			continue
		}
		seen[ref] = true
		nd, err := d.resolveDict(ref)
		if err != nil {
			return Ref{}, nil, nil, err
		}
		if nd == nil {
			continue
		}
		inh := fr.inh
		for _, k := range []Name{"MediaBox", "CropBox", "Rotate"} {
			if v, ok := nd[k]; ok {
				inh = copyDict(inh)
				inh[k] = v
			}
		}
		kids, err := d.resolve(nd["Kids"])
		if err != nil {
			return Ref{}, nil, nil, err
		}
		karr, _ := kids.(Array)
		if nd.Name("Type") == "Page" || (nd.Name("Type") != "Pages" && len(karr) == 0) {
			if count++; count == n {
				return ref, nd, fr.inh, nil
			}
			continue
		}
		for i := len(karr) - 1; i >= 0; i-- {
			stack = append(stack, frame{karr[i], inh})
		}
	}
	if count == 0 {
		return Ref{}, nil, nil, kernel.E(kernel.Invalid, "pdf.error.no_pages")
	}
	return Ref{}, nil, nil, kernel.E(kernel.Invalid, "pdf.error.bad_appearance_page")
}

// rect is the widget's rectangle in user space: the one given, or the
// default box at the bottom right of the page as shown.
func (a *Appearance) rect(g pageGeometry) ([4]float64, error) {
	c := g.crop
	if a.Rect != [4]float64{} {
		r := a.Rect
		r = [4]float64{min(r[0], r[2]), min(r[1], r[3]), max(r[0], r[2]), max(r[1], r[3])}
		if r[2] <= c[0] || r[0] >= c[2] || r[3] <= c[1] || r[1] >= c[3] {
			return r, kernel.E(kernel.Invalid, "pdf.error.bad_appearance_rect")
		}
		return r, nil
	}
	// The page as the reader sees it: W×H after rotation.
	w, h := c[2]-c[0], c[3]-c[1]
	vw, vh := w, h
	if g.rotate == 90 || g.rotate == 270 {
		vw, vh = h, w
	}
	m := min(defaultMargin, vw/10, vh/10)
	bw, bh := min(defaultBoxW, vw-2*m), min(defaultBoxH, vh-2*m)
	// Visual corners, then back to user space (u, v from the box origin).
	vx0, vy0, vx1, vy1 := vw-m-bw, m, vw-m, m+bh
	toUser := func(vx, vy float64) (float64, float64) {
		switch g.rotate {
		case 90:
			return w - vy, vx
		case 180:
			return w - vx, h - vy
		case 270:
			return vy, h - vx
		}
		return vx, vy
	}
	ux0, uy0 := toUser(vx0, vy0)
	ux1, uy1 := toUser(vx1, vy1)
	return [4]float64{c[0] + min(ux0, ux1), c[1] + min(uy0, uy1), c[0] + max(ux0, ux1), c[1] + max(uy0, uy1)}, nil
}

// rotationMatrix turns the appearance so that it stands upright on a page
// shown rotated (ISO 32000-1 §12.5.5: the form's box, transformed, is fitted
// to the widget's rectangle).
func rotationMatrix(rotate int) Array {
	switch rotate {
	case 90:
		return Array{Int(0), Int(1), Int(-1), Int(0), Int(0), Int(0)}
	case 180:
		return Array{Int(-1), Int(0), Int(0), Int(-1), Int(0), Int(0)}
	case 270:
		return Array{Int(0), Int(-1), Int(1), Int(0), Int(0), Int(0)}
	}
	return nil
}

// appearanceObjects are the widget's entries and the new objects of a
// visible signature.
type appearanceObjects struct {
	widget Dict // Rect, AP and MK, for the widget
	objs   []newObject
}

// build lays out and writes the appearance: a form XObject with a light
// border, the image, and the lines; the font subset and the image as
// objects of their own. alloc hands out the object numbers.
func (a *Appearance) build(g pageGeometry, alloc func() Ref) (*appearanceObjects, error) {
	r, err := a.rect(g)
	if err != nil {
		return nil, err
	}
	w, h := r[2]-r[0], r[3]-r[1]
	if g.rotate == 90 || g.rotate == 270 {
		w, h = h, w
	}
	out := &appearanceObjects{widget: Dict{
		"Rect": Array{num(r[0]), num(r[1]), num(r[2]), num(r[3])},
	}}
	var c bytes.Buffer
	res := Dict{}
	apRef := alloc()

	pad := max(1, min(6, min(w, h)*0.06))
	fmt.Fprintf(&c, "q\n0.62 0.66 0.74 RG 0.75 w\n%s %s %s %s re S\n", fnum(0.375), fnum(0.375), fnum(w-0.75), fnum(h-0.75))

	textX := pad
	if a.Image != nil {
		areaW := w - 2*pad
		if len(a.Lines) > 0 {
			areaW = min(w*0.35, h-2*pad)
		}
		areaH := h - 2*pad
		iw, ih := float64(a.Image.width), float64(a.Image.height)
		s := min(areaW/iw, areaH/ih)
		iw, ih = iw*s, ih*s
		x := pad + (areaW-iw)/2
		if len(a.Lines) == 0 {
			x = (w - iw) / 2
		}
		y := (h - ih) / 2
		fmt.Fprintf(&c, "q %s 0 0 %s %s %s cm /Im0 Do Q\n", fnum(iw), fnum(ih), fnum(x), fnum(y))
		imgRef := alloc()
		out.objs = append(out.objs, a.Image.objects(imgRef, alloc)...)
		res["XObject"] = Dict{"Im0": imgRef}
		textX = pad + areaW + pad
	}

	if len(a.Lines) > 0 {
		f := a.Font
		lines := make([]shapedLine, len(a.Lines))
		used := map[uint16]string{}
		widest := 0.0
		for i, s := range a.Lines {
			lines[i] = shapeLine(f, s)
			wd := 0.0
			for _, gl := range lines[i].glyphs {
				if _, ok := used[gl.gid]; !ok {
					used[gl.gid] = gl.text
				}
				wd += f.width1000(gl.gid)
			}
			widest = max(widest, wd)
		}
		tw, th := w-textX-pad, h-2*pad
		em := float64(f.ascent-f.descent) / float64(f.unitsPerEm)
		if em <= 0 || em > 4 {
			em = 1.2 // a font with odd vertical metrics still gets readable lines
		}
		const leading = 1.08
		size := min(14, th/(float64(len(lines))*em*leading))
		if widest > 0 {
			size = min(size, tw*1000/widest)
		}
		size = max(size, 1)
		lh := size * em * leading
		top := pad + th/2 + lh*float64(len(lines))/2
		asc := size * float64(f.ascent) / float64(f.unitsPerEm)

		fontRef, err := f.embed(used, alloc, &out.objs)
		if err != nil {
			return nil, err
		}
		res["Font"] = Dict{"F0": fontRef}
		fmt.Fprintf(&c, "q %s %s %s %s re W n\nBT\n0.05 0.1 0.35 rg\n/F0 %s Tf\n", fnum(textX), fnum(pad), fnum(tw), fnum(th), fnum(size))
		for i, l := range lines {
			lw := 0.0
			for _, gl := range l.glyphs {
				lw += f.width1000(gl.gid)
			}
			x := textX
			if l.rtl {
				x = textX + tw - lw*size/1000
			}
			y := top - float64(i)*lh - asc - (lh-size*em)/2
			// Glyphs go in visual order, each mapped by /ToUnicode to its
			// logical letter: extractors (poppler, Acrobat) find the
			// right-to-left words and read them back in logical order. An
			// /ActualText in logical order would be reversed once more by
			// poppler, so there is none.
			fmt.Fprintf(&c, "1 0 0 1 %s %s Tm <", fnum(x), fnum(y))
			for _, gl := range l.glyphs {
				fmt.Fprintf(&c, "%04X", gl.gid)
			}
			c.WriteString("> Tj\n")
		}
		c.WriteString("ET\nQ\n")
	}
	c.WriteString("Q\n")

	form := Dict{
		"Type": Name("XObject"), "Subtype": Name("Form"),
		"BBox":      Array{Int(0), Int(0), num(w), num(h)},
		"Resources": res,
	}
	if m := rotationMatrix(g.rotate); m != nil {
		form["Matrix"] = m
		out.widget["MK"] = Dict{"R": Int(g.rotate)}
	}
	out.objs = append([]newObject{flateStreamObject(apRef, form, c.Bytes())}, out.objs...)
	out.widget["AP"] = Dict{"N": apRef}
	return out, nil
}

// num is a PDF number with at most three decimals.
func num(v float64) Object {
	v = math.Round(v*1000) / 1000
	if v == math.Trunc(v) {
		return Int(v)
	}
	return Real(v)
}

// fnum formats a number for a content stream.
func fnum(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// streamObject serialises a stream object; /Length is set from data.
func streamObject(ref Ref, d Dict, data []byte) newObject {
	d = copyDict(d)
	d["Length"] = Int(len(data))
	var b bytes.Buffer
	b.Grow(len(data) + 128)
	writeDict(&b, d)
	b.WriteString("\nstream\n")
	b.Write(data)
	b.WriteString("\nendstream")
	return newObject{ref, b.Bytes()}
}

// flateStreamObject is streamObject with the data Flate-compressed.
func flateStreamObject(ref Ref, d Dict, data []byte) newObject {
	d = copyDict(d)
	d["Filter"] = Name("FlateDecode")
	return streamObject(ref, d, deflate(data))
}

func deflate(data []byte) []byte {
	var z bytes.Buffer
	zw := zlibWriters.Get().(*zlib.Writer)
	defer zlibWriters.Put(zw)
	zw.Reset(&z)
	zw.Write(data) // writes to a bytes.Buffer do not fail
	zw.Close()
	return z.Bytes()
}

// Image is a seal image parsed once (ParseImage) for any number of
// signatures: PNG decoded and recompressed, JPEG kept as it is.
type Image struct {
	width, height int
	colorSpace    Name
	decode        Array  // for Adobe CMYK JPEGs, stored inverted
	filter        Name   // FlateDecode or DCTDecode
	data          []byte // as written in the stream
	alpha         []byte // Flate-compressed soft mask, when not opaque
}

// badImage is the error for an image this package cannot use.
func badImage(format string, args ...any) error {
	return kernel.E(kernel.Invalid, "pdf.error.bad_image").WithCause(fmt.Errorf("pdf: image: "+format, args...))
}

// ParseImage reads a PNG or JPEG seal image. Its size is checked before it
// is decoded (at most 4096 pixels a side, 4 megapixels), so a hostile file
// cannot make it allocate much; anything else gives "pdf.error.bad_image".
func ParseImage(b []byte) (*Image, error) {
	if len(b) > maxImageBytes {
		return nil, badImage("%d bytes", len(b))
	}
	var (
		cfg    image.Config
		err    error
		isJPEG bool
	)
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		cfg, err = png.DecodeConfig(bytes.NewReader(b))
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		isJPEG = true
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(b))
	default:
		return nil, badImage("neither PNG nor JPEG")
	}
	if err != nil {
		return nil, badImage("%v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxImageSide || cfg.Height > maxImageSide || cfg.Width*cfg.Height > maxImagePixels {
		return nil, badImage("%d×%d pixels", cfg.Width, cfg.Height)
	}
	im := &Image{width: cfg.Width, height: cfg.Height}
	if isJPEG {
		// Decoded once only to be sure readers can: the bytes go in as they are.
		if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
			return nil, badImage("%v", err)
		}
		im.filter, im.data = "DCTDecode", b
		switch cfg.ColorModel {
		case color.GrayModel:
			im.colorSpace = "DeviceGray"
		case color.CMYKModel:
			im.colorSpace = "DeviceCMYK"
			im.decode = Array{Int(1), Int(0), Int(1), Int(0), Int(1), Int(0), Int(1), Int(0)}
		default:
			im.colorSpace = "DeviceRGB"
		}
		return im, nil
	}
	src, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, badImage("%v", err)
	}
	bounds := src.Bounds()
	gray := false
	switch cfg.ColorModel {
	case color.GrayModel, color.Gray16Model:
		gray = true
	}
	chans := 3
	if gray {
		chans = 1
	}
	pix := make([]byte, 0, chans*cfg.Width*cfg.Height)
	alpha := make([]byte, 0, cfg.Width*cfg.Height)
	opaque := true
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			c := color.NRGBAModel.Convert(src.At(x, y)).(color.NRGBA)
			if gray {
				pix = append(pix, c.R)
			} else {
				pix = append(pix, c.R, c.G, c.B)
			}
			alpha = append(alpha, c.A)
			opaque = opaque && c.A == 0xff
		}
	}
	im.filter, im.data = "FlateDecode", deflate(pix)
	im.colorSpace = "DeviceRGB"
	if gray {
		im.colorSpace = "DeviceGray"
	}
	if !opaque {
		im.alpha = deflate(alpha)
	}
	return im, nil
}

// objects are the image XObject at ref and its soft mask.
func (im *Image) objects(ref Ref, alloc func() Ref) []newObject {
	d := Dict{
		"Type": Name("XObject"), "Subtype": Name("Image"),
		"Width": Int(im.width), "Height": Int(im.height),
		"ColorSpace": im.colorSpace, "BitsPerComponent": Int(8), "Filter": im.filter,
	}
	if im.decode != nil {
		d["Decode"] = im.decode
	}
	var objs []newObject
	if im.alpha != nil {
		mref := alloc()
		d["SMask"] = mref
		objs = append(objs, streamObject(mref, Dict{
			"Type": Name("XObject"), "Subtype": Name("Image"),
			"Width": Int(im.width), "Height": Int(im.height),
			"ColorSpace": Name("DeviceGray"), "BitsPerComponent": Int(8), "Filter": Name("FlateDecode"),
		}, im.alpha))
	}
	return append([]newObject{streamObject(ref, d, im.data)}, objs...)
}
