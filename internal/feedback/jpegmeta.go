package feedback

import (
	"encoding/binary"
	"errors"
)

// jpegInfo is what the headers of a JPEG say before any pixel is decoded:
// enough to know what decoding it would cost, and how to turn it upright.
type jpegInfo struct {
	Width, Height int
	Components    int
	// Samples is the number of 8-bit samples its planes hold once decoded
	// (padded to whole blocks), over all components.
	Samples     int64
	Progressive bool
	// Orientation is the EXIF orientation (1 to 8; 1 when absent or bad).
	Orientation int
}

var errJPEGHeader = errors.New("feedback: malformed JPEG header")

// scanJPEG reads the markers of a JPEG up to its first scan: the frame
// header (size, components and their sampling, baseline or progressive)
// and the EXIF orientation. It refuses what Go's decoder cannot decode
// (arithmetic coding, lossless, hierarchical, 12-bit).
func scanJPEG(b []byte) (jpegInfo, error) {
	info := jpegInfo{Orientation: 1}
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return info, errJPEGHeader
	}
	i := 2
	frame := false
	for i < len(b) {
		if b[i] != 0xFF {
			return info, errJPEGHeader
		}
		for i < len(b) && b[i] == 0xFF { // fill bytes
			i++
		}
		if i >= len(b) {
			return info, errJPEGHeader
		}
		m := b[i]
		i++
		switch {
		case m == 0xD8 || m == 0x01 || m >= 0xD0 && m <= 0xD7:
			continue // no length
		case m == 0xD9:
			return info, errJPEGHeader // end before any scan
		}
		if i+2 > len(b) {
			return info, errJPEGHeader
		}
		n := int(binary.BigEndian.Uint16(b[i:]))
		if n < 2 || i+n > len(b) {
			return info, errJPEGHeader
		}
		seg := b[i+2 : i+n]
		i += n
		switch {
		case m == 0xC0 || m == 0xC1 || m == 0xC2:
			if frame {
				return info, errJPEGHeader
			}
			frame = true
			if err := info.frame(seg, m == 0xC2); err != nil {
				return info, err
			}
		case m >= 0xC3 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return info, errJPEGHeader // lossless, hierarchical or arithmetic: not decodable here
		case m == 0xE1 && info.Orientation == 1:
			if o := exifOrientation(seg); o != 0 {
				info.Orientation = o
			}
		case m == 0xDA:
			if !frame {
				return info, errJPEGHeader
			}
			return info, nil
		}
	}
	return info, errJPEGHeader
}

// frame reads a start-of-frame segment.
func (info *jpegInfo) frame(seg []byte, progressive bool) error {
	if len(seg) < 6 || seg[0] != 8 {
		return errJPEGHeader
	}
	info.Height = int(binary.BigEndian.Uint16(seg[1:]))
	info.Width = int(binary.BigEndian.Uint16(seg[3:]))
	nc := int(seg[5])
	if info.Width == 0 || info.Height == 0 || (nc != 1 && nc != 3 && nc != 4) || len(seg) < 6+3*nc {
		return errJPEGHeader
	}
	info.Components = nc
	info.Progressive = progressive
	hmax, vmax := 1, 1
	hv := make([][2]int, nc)
	for c := range nc {
		h, v := int(seg[6+3*c+1]>>4), int(seg[6+3*c+1]&15)
		if h < 1 || h > 4 || v < 1 || v > 4 {
			return errJPEGHeader
		}
		hv[c] = [2]int{h, v}
		hmax, vmax = max(hmax, h), max(vmax, v)
	}
	// The decoder allocates whole MCUs: 8·hmax by 8·vmax pixels each.
	mcuW, mcuH := (info.Width+8*hmax-1)/(8*hmax), (info.Height+8*vmax-1)/(8*vmax)
	for _, s := range hv {
		info.Samples += int64(mcuW*8*s[0]) * int64(mcuH*8*s[1])
	}
	return nil
}

// exifOrientation reads the Orientation tag (0x0112) of IFD0 from an APP1
// segment, or 0 when it is not an EXIF segment or has none.
func exifOrientation(seg []byte) int {
	if len(seg) < 14 || string(seg[:6]) != "Exif\x00\x00" {
		return 0
	}
	t := seg[6:]
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	n := int(bo.Uint16(t[off:]))
	for e := range n {
		p := off + 2 + 12*e
		if p+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[p:]) != 0x0112 {
			continue
		}
		if typ := bo.Uint16(t[p+2:]); typ != 3 { // SHORT
			return 0
		}
		o := int(bo.Uint16(t[p+8:]))
		if o < 1 || o > 8 {
			return 0
		}
		return o
	}
	return 0
}
