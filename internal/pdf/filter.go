package pdf

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
)

// maxDecoded bounds the decoded size of the streams this package decodes
// itself (cross-reference and object streams), against decompression bombs.
const maxDecoded = 64 << 20

// decode applies the stream's filters. Only FlateDecode (with PNG or TIFF
// predictors) is supported: it is the only filter cross-reference and
// object streams use in practice.
func decode(d Dict, raw []byte) ([]byte, error) {
	var filters []Name
	var parms []Object
	switch f := d["Filter"].(type) {
	case nil:
		return raw, nil
	case Name:
		filters = []Name{f}
		parms = []Object{d["DecodeParms"]}
	case Array:
		for _, x := range f {
			n, ok := x.(Name)
			if !ok {
				return nil, errors.New("bad /Filter")
			}
			filters = append(filters, n)
		}
		if p, ok := d["DecodeParms"].(Array); ok {
			parms = p
		}
	default:
		return nil, errors.New("bad /Filter")
	}
	data := raw
	for i, f := range filters {
		if f != "FlateDecode" && f != "Fl" {
			return nil, fmt.Errorf("unsupported filter %s", f)
		}
		var err error
		data, err = inflate(data)
		if err != nil {
			return nil, err
		}
		var p Dict
		if i < len(parms) {
			p, _ = parms[i].(Dict)
		}
		data, err = unpredict(p, data)
		if err != nil {
			return nil, err
		}
	}
	return data, nil
}

func inflate(b []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("flate: %w", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxDecoded+1))
	if len(out) > maxDecoded {
		return nil, errors.New("decoded stream too large")
	}
	// Many writers end Flate data without its checksum; what was inflated is kept.
	if err != nil && len(out) == 0 {
		return nil, fmt.Errorf("flate: %w", err)
	}
	return out, nil
}

// unpredict undoes a PNG (10..15) or TIFF (2, 8-bit) predictor.
func unpredict(p Dict, b []byte) ([]byte, error) {
	pred, _ := p.Int("Predictor")
	if pred <= 1 {
		return b, nil
	}
	colors, bpc, columns := int64(1), int64(8), int64(1)
	if v, ok := p.Int("Colors"); ok {
		colors = v
	}
	if v, ok := p.Int("BitsPerComponent"); ok {
		bpc = v
	}
	if v, ok := p.Int("Columns"); ok {
		columns = v
	}
	if colors < 1 || colors > 32 || bpc < 1 || bpc > 16 || columns < 1 || columns > 1<<20 {
		return nil, errors.New("bad /DecodeParms")
	}
	bpp := int((colors*bpc + 7) / 8)
	row := int((colors*bpc*columns + 7) / 8)
	if pred == 2 {
		if bpc != 8 {
			return nil, errors.New("unsupported TIFF predictor")
		}
		out := append([]byte(nil), b...)
		for r := 0; r+row <= len(out); r += row {
			for i := bpp; i < row; i++ {
				out[r+i] += out[r+i-bpp]
			}
		}
		return out, nil
	}
	if pred < 10 || pred > 15 {
		return nil, fmt.Errorf("unsupported predictor %d", pred)
	}
	out := make([]byte, 0, len(b)/(row+1)*row)
	prev := make([]byte, row)
	cur := make([]byte, row)
	for len(b) >= row+1 {
		typ := b[0]
		copy(cur, b[1:row+1])
		b = b[row+1:]
		for i := 0; i < row; i++ {
			var left, up, upLeft byte
			if i >= bpp {
				left = cur[i-bpp]
				upLeft = prev[i-bpp]
			}
			up = prev[i]
			switch typ {
			case 0:
			case 1:
				cur[i] += left
			case 2:
				cur[i] += up
			case 3:
				cur[i] += byte((int(left) + int(up)) / 2)
			case 4:
				cur[i] += paeth(left, up, upLeft)
			default:
				return nil, fmt.Errorf("bad PNG filter type %d", typ)
			}
		}
		out = append(out, cur...)
		prev, cur = cur, prev
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
