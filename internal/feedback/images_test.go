package feedback_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
)

// picture draws a w×h test image: a red block at the top left (so that a
// rotation shows), the rest a gradient.
func picture(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(x * 255 / max(w, 1)), uint8(y * 255 / max(h, 1)), 128, 255}
			if x < w/4 && y < h/4 {
				c = color.RGBA{230, 20, 20, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func jpegOf(w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, picture(w, h), &jpeg.Options{Quality: 85}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func pngOf(w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, picture(w, h)); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// gpsSecret is the text the EXIF of test photos carries besides GPS, so a
// test can look for it in what is stored.
const gpsSecret = "SECRET-CAMERA-OWNER"

// withEXIF puts an APP1 EXIF segment right after a JPEG's SOI: IFD0 with
// the orientation, an Artist text and a pointer to a GPS IFD holding a
// latitude and a longitude (12°40'48" N, 108°3'0" E).
func withEXIF(j []byte, orientation uint16) []byte {
	le := binary.LittleEndian
	var t bytes.Buffer
	t.WriteString("II")
	_ = binary.Write(&t, le, uint16(42))
	_ = binary.Write(&t, le, uint32(8))
	// IFD0 at 8: 3 entries.
	ifd0 := 8
	n0 := 3
	ifd0End := ifd0 + 2 + 12*n0 + 4
	artistOff := ifd0End
	artist := gpsSecret + "\x00"
	gpsOff := artistOff + len(artist)
	entry := func(tag, typ uint16, count, value uint32) {
		_ = binary.Write(&t, le, tag)
		_ = binary.Write(&t, le, typ)
		_ = binary.Write(&t, le, count)
		_ = binary.Write(&t, le, value)
	}
	_ = binary.Write(&t, le, uint16(n0))
	entry(0x0112, 3, 1, uint32(orientation))
	entry(0x013B, 2, uint32(len(artist)), uint32(artistOff))
	entry(0x8825, 4, 1, uint32(gpsOff))
	_ = binary.Write(&t, le, uint32(0))
	t.WriteString(artist)
	// GPS IFD: 4 entries, then the rationals.
	nG := 4
	ratOff := gpsOff + 2 + 12*nG + 4
	_ = binary.Write(&t, le, uint16(nG))
	entry(0x0001, 2, 2, uint32('N'))
	entry(0x0002, 5, 3, uint32(ratOff))
	entry(0x0003, 2, 2, uint32('E'))
	entry(0x0004, 5, 3, uint32(ratOff+24))
	_ = binary.Write(&t, le, uint32(0))
	for _, v := range [][2]uint32{{12, 1}, {40, 1}, {48, 1}, {108, 1}, {3, 1}, {0, 1}} {
		_ = binary.Write(&t, le, v[0])
		_ = binary.Write(&t, le, v[1])
	}
	seg := append([]byte("Exif\x00\x00"), t.Bytes()...)
	var out bytes.Buffer
	out.Write(j[:2])
	out.Write([]byte{0xFF, 0xE1})
	_ = binary.Write(&out, binary.BigEndian, uint16(len(seg)+2))
	out.Write(seg)
	out.Write(j[2:])
	return out.Bytes()
}

// bombPNG is a valid PNG header that promises width × height pixels.
func bombPNG(width, height uint32) []byte {
	small := pngOf(1, 1)
	out := bytes.Clone(small)
	binary.BigEndian.PutUint32(out[16:], width)
	binary.BigEndian.PutUint32(out[20:], height)
	// The IHDR CRC no longer matches; png.DecodeConfig checks it, so fix it.
	crc := crc32.ChecksumIEEE(out[12:29])
	binary.BigEndian.PutUint32(out[29:], crc)
	return out
}

// bombJPEG rewrites the frame size of a small JPEG to width × height.
func bombJPEG(width, height uint16) []byte {
	j := jpegOf(16, 16)
	out := bytes.Clone(j)
	for i := 2; i+9 < len(out); i++ {
		if out[i] == 0xFF && out[i+1] == 0xC0 {
			binary.BigEndian.PutUint16(out[i+5:], height)
			binary.BigEndian.PutUint16(out[i+7:], width)
			return out
		}
	}
	panic("no SOF0")
}
