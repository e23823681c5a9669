package statuslist

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"sync"

	"civitas/internal/kernel"
)

// Status is the value of one entry of a Status List (the draft's Status
// Types).
type Status uint8

// The Status Types the draft registers.
const (
	Valid     Status = 0x00 // valid, correct or legal
	Invalid   Status = 0x01 // revoked, annulled, taken back, recalled or cancelled
	Suspended Status = 0x02 // temporarily invalid
)

// String names the registered values.
func (s Status) String() string {
	switch s {
	case Valid:
		return "VALID"
	case Invalid:
		return "INVALID"
	case Suspended:
		return "SUSPENDED"
	}
	return fmt.Sprintf("0x%02x", uint8(s))
}

// MaxDecodedSize bounds the byte array Decode accepts once inflated: 16 MiB
// holds 134 million 1-bit entries, far more than any list, and a zlib bomb
// (DEFLATE inflates up to about 1,000 times) is refused before it takes
// more memory than that.
const MaxDecodedSize = 16 << 20

// List is a Status List: entries of Bits bits each, packed from the least
// significant bit of each byte, as the draft lays them out.
type List struct {
	bits int
	b    []byte
}

func validBits(bits int) bool { return bits == 1 || bits == 2 || bits == 4 || bits == 8 }

// New returns a list of at least n entries, all Valid; the byte array is
// rounded up to whole bytes.
func New(bits, n int) (*List, error) {
	if !validBits(bits) || n <= 0 || n > MaxDecodedSize*8/bits {
		return nil, kernel.E(kernel.Invalid, "statuslist.error.bad_list")
	}
	return &List{bits: bits, b: make([]byte, (n*bits+7)/8)}, nil
}

// FromBytes returns the list whose packed byte array is b. The list keeps b.
func FromBytes(bits int, b []byte) (*List, error) {
	if !validBits(bits) || len(b) == 0 || len(b) > MaxDecodedSize {
		return nil, kernel.E(kernel.Invalid, "statuslist.error.bad_list")
	}
	return &List{bits: bits, b: b}, nil
}

// Bits returns the number of bits per entry.
func (l *List) Bits() int { return l.bits }

// Len returns the number of entries: every entry the byte array holds.
func (l *List) Len() int { return len(l.b) * 8 / l.bits }

// Bytes returns the packed byte array itself, not a copy.
func (l *List) Bytes() []byte { return l.b }

// Get returns the status at idx. An index outside the list is an error: the
// draft says no statement can then be made, and the token must be refused.
func (l *List) Get(idx int) (Status, error) {
	if idx < 0 || idx >= l.Len() {
		return 0, kernel.E(kernel.Invalid, "statuslist.error.out_of_range")
	}
	bit := idx * l.bits
	mask := byte(1<<l.bits - 1)
	return Status(l.b[bit/8] >> (bit % 8) & mask), nil
}

// Set writes the status at idx; the status must fit in Bits bits.
func (l *List) Set(idx int, s Status) error {
	if idx < 0 || idx >= l.Len() {
		return kernel.E(kernel.Invalid, "statuslist.error.out_of_range")
	}
	if !fits(s, l.bits) {
		return kernel.E(kernel.Invalid, "statuslist.error.bad_status")
	}
	setPacked(l.b, l.bits, idx, s)
	return nil
}

func fits(s Status, bits int) bool { return bits == 8 || int(s) < 1<<bits }

// setPacked writes s at idx of a packed array; the caller has checked both.
func setPacked(b []byte, bits, idx int, s Status) {
	bit := idx * bits
	mask := byte(1<<bits-1) << (bit % 8)
	b[bit/8] = b[bit/8]&^mask | byte(s)<<(bit%8)&mask
}

// getPacked reads idx of a packed array; the caller has checked idx.
func getPacked(b []byte, bits, idx int) Status {
	bit := idx * bits
	return Status(b[bit/8] >> (bit % 8) & byte(1<<bits-1))
}

// lstEncoding is base64url without padding (RFC 7515 §2). Strict refuses
// non-zero trailing bits, so each list has one spelling.
var lstEncoding = base64.RawURLEncoding.Strict()

// zlibWriters keeps compressors between tokens: each holds about a megabyte
// of DEFLATE state that would otherwise be allocated at every build.
var zlibWriters = sync.Pool{New: func() any {
	w, _ := zlib.NewWriterLevel(io.Discard, zlib.BestCompression) // the level is valid
	return w
}}

// Encode compresses the byte array with DEFLATE in the zlib format at the
// best compression level, as the draft requires and recommends, and
// returns it base64url-encoded: the "lst" member.
func (l *List) Encode() (string, error) {
	var buf bytes.Buffer
	w := zlibWriters.Get().(*zlib.Writer)
	defer zlibWriters.Put(w)
	w.Reset(&buf)
	if _, err := w.Write(l.b); err != nil {
		return "", kernel.Wrap(err, "statuslist: compress")
	}
	if err := w.Close(); err != nil {
		return "", kernel.Wrap(err, "statuslist: compress")
	}
	return lstEncoding.EncodeToString(buf.Bytes()), nil
}

// Decode reads an "lst" member of bits bits per entry. It refuses anything
// but one complete zlib stream with a good checksum and nothing after it,
// an inflated array larger than MaxDecodedSize, and an empty one.
func Decode(bits int, lst string) (*List, error) {
	bad := kernel.E(kernel.Invalid, "statuslist.error.bad_list")
	if !validBits(bits) || lst == "" || strings.ContainsAny(lst, "\r\n") {
		return nil, bad // the base64 decoder would skip line breaks
	}
	raw, err := lstEncoding.DecodeString(lst)
	if err != nil {
		return nil, bad.WithCause(err)
	}
	src := bytes.NewReader(raw) // an io.ByteReader: the inflater reads no further than the stream
	zr, err := zlib.NewReader(src)
	if err != nil {
		return nil, bad.WithCause(err) // a bad header, or a preset dictionary
	}
	defer zr.Close()
	var out bytes.Buffer
	n, err := out.ReadFrom(io.LimitReader(zr, MaxDecodedSize+1))
	switch {
	case err != nil:
		return nil, bad.WithCause(err) // corrupt data or a bad checksum
	case n > MaxDecodedSize:
		return nil, bad.WithCause(fmt.Errorf("statuslist: inflates beyond %d bytes", MaxDecodedSize))
	case n == 0:
		return nil, bad.WithCause(fmt.Errorf("statuslist: empty list"))
	case src.Len() != 0:
		return nil, bad.WithCause(fmt.Errorf("statuslist: %d bytes after the zlib stream", src.Len()))
	}
	return &List{bits: bits, b: out.Bytes()}, nil
}
