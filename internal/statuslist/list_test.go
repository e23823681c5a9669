package statuslist_test

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/base64"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"

	"civitas/internal/kernel"
	"civitas/internal/statuslist"
)

// The draft's examples (draft-ietf-oauth-status-list §4.1, §4.2 and its
// test vectors appendix), written by others.
const (
	draft1Bytes = "b9a3"
	draft1Lst   = "eNrbuRgAAhcBXQ" // zlib's own compressor
	draft2Bytes = "c944f9"
	draft2Lst   = "eNo76fITAAPfAgc"
	// Go's compress/flate ends every stream with an empty final stored
	// block, so our lst for the same bytes is longer (valid all the same);
	// pinned so that a change of encoder is noticed.
	our1Lst = "eNrauRgQAAD__wIXAV0"
	our2Lst = "eNo66fITEAAA__8D3wIH"

	// 2^20 entries each.
	draftLong1Lst = "eNrt3AENwCAMAEGogklACtKQPg9LugC9k_ACvreiogE" +
		"AAKkeCQAAAAAAAAAAAAAAAAAAAIBylgQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" +
		"AAAAAAAAAAAAAAAAAAAXG9IAAAAAAAAAPwsJAAAAAAAAAAAAAAAvhsSAAAAAAAAAAA" +
		"A7KpLAAAAAAAAAAAAAAAAAAAAAJsLCQAAAAAAAAAAADjelAAAAAAAAAAAKjDMAQAAA" +
		"ACAZC8L2AEb"
	draftLong2Lst = "eNrt2zENACEQAEEuoaBABP5VIO01fCjIHTMStt9ovGV" +
		"IAAAAAABAbiEBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEB5WwIAAAAAA" +
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" +
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAID0ugQAAAAAAAAAAAAAAAAAQG12SgAAA" +
		"AAAAAAAAAAAAAAAAAAAAAAAAOCSIQEAAAAAAAAAAAAAAAAAAAAAAAD8ExIAAAAAAAA" +
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAwJEuAQAAAAAAAAAAAAAAAAAAAAAAAMB9S" +
		"wIAAAAAAAAAAAAAAAAAAACoYUoAAAAAAAAAAAAAAEBqH81gAQw"
)

var (
	draft1Status = []statuslist.Status{1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1}
	draft2Status = []statuslist.Status{1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3}
	draftLong1   = map[int]statuslist.Status{0: 1, 1993: 1, 25460: 1, 159495: 1, 495669: 1, 554353: 1,
		645645: 1, 723232: 1, 854545: 1, 934534: 1, 1000345: 1}
	draftLong2 = map[int]statuslist.Status{0: 1, 1993: 2, 25460: 1, 159495: 3, 495669: 1, 554353: 1,
		645645: 2, 723232: 1, 854545: 1, 934534: 2, 1000345: 3}
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDraftExamples(t *testing.T) {
	tests := []struct {
		name   string
		bits   int
		bytes  string
		status []statuslist.Status
		lst    string
		ours   string
	}{
		{"ok/1-bit", 1, draft1Bytes, draft1Status, draft1Lst, our1Lst},
		{"ok/2-bit", 2, draft2Bytes, draft2Status, draft2Lst, our2Lst},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := mustHex(t, tt.bytes)
			// Setting the statuses one by one gives the draft's bytes.
			l, err := statuslist.New(tt.bits, len(tt.status))
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.status {
				if err := l.Set(i, s); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(l.Bytes(), want) {
				t.Fatalf("bytes = %x, want %s", l.Bytes(), tt.bytes)
			}
			// The draft's lst decodes to them.
			d, err := statuslist.Decode(tt.bits, tt.lst)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(d.Bytes(), want) || d.Len() != len(tt.status) {
				t.Fatalf("decoded %x (%d entries), want %s", d.Bytes(), d.Len(), tt.bytes)
			}
			for i, s := range tt.status {
				if got, err := d.Get(i); err != nil || got != s {
					t.Fatalf("status[%d] = %v, %v; want %v", i, got, err, s)
				}
			}
			// Ours is what Go's compressor makes of them, and decodes back.
			lst, err := l.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if lst != tt.ours {
				t.Fatalf("Encode = %s, want %s", lst, tt.ours)
			}
			back, err := statuslist.Decode(tt.bits, lst)
			if err != nil || !bytes.Equal(back.Bytes(), want) {
				t.Fatalf("round trip = %x, %v", back.Bytes(), err)
			}
			inflateWithPython(t, lst, want)
		})
	}
}

// inflateWithPython checks our lst with zlib itself, through Python, when
// it is installed: a decoder nobody here wrote.
func inflateWithPython(t *testing.T, lst string, want []byte) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 not installed: our lst not checked with zlib")
		return
	}
	out, err := exec.Command(py, "-c", "import base64,sys,zlib; s=sys.argv[1]; "+
		"print(zlib.decompress(base64.urlsafe_b64decode(s+'='*(-len(s)%4))).hex())", lst).Output()
	if err != nil {
		t.Fatalf("python zlib: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != hex.EncodeToString(want) {
		t.Fatalf("zlib inflates our lst to %s, want %x", got, want)
	}
}

func TestDraftTestVectors(t *testing.T) {
	for _, tt := range []struct {
		name string
		bits int
		lst  string
		want map[int]statuslist.Status
	}{
		{"ok/1-bit 2^20", 1, draftLong1Lst, draftLong1},
		{"ok/2-bit 2^20", 2, draftLong2Lst, draftLong2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := statuslist.Decode(tt.bits, tt.lst)
			if err != nil {
				t.Fatal(err)
			}
			if l.Len() != 1<<20 {
				t.Fatalf("Len = %d", l.Len())
			}
			for i := range l.Len() {
				got, err := l.Get(i)
				if err != nil || got != tt.want[i] {
					t.Fatalf("status[%d] = %v, %v; want %v", i, got, err, tt.want[i])
				}
			}
		})
	}
}

func zlibBytes(t testing.TB, level int, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := zlib.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestDecodeRefuses(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	good := zlibBytes(t, zlib.BestCompression, []byte{0xb9, 0xa3})
	badSum := bytes.Clone(good)
	badSum[len(badSum)-1] ^= 1
	var raw bytes.Buffer // DEFLATE without the zlib wrapper
	fw, _ := flate.NewWriter(&raw, flate.BestCompression)
	fw.Write([]byte{0xb9, 0xa3})
	fw.Close()
	var dict bytes.Buffer
	dw, _ := zlib.NewWriterLevelDict(&dict, zlib.BestCompression, []byte("dictionary"))
	dw.Write([]byte{0xb9, 0xa3})
	dw.Close()
	tests := []struct {
		name string
		bits int
		lst  string
	}{
		{"fail/zlib bomb", 1, b64(zlibBytes(t, zlib.BestCompression, make([]byte, statuslist.MaxDecodedSize+1)))},
		{"fail/bits 3", 3, b64(good)},
		{"fail/bits 0", 0, b64(good)},
		{"fail/empty lst", 1, ""},
		{"fail/empty list", 1, b64(zlibBytes(t, zlib.BestCompression, nil))},
		{"fail/padding", 1, base64.URLEncoding.EncodeToString(good)},
		{"fail/standard alphabet", 1, strings.NewReplacer("-", "+", "_", "/").Replace(b64(bytes.Repeat(good, 1)) + "-_")},
		{"fail/line break", 1, b64(good)[:4] + "\n" + b64(good)[4:]},
		{"fail/raw deflate", 1, b64(raw.Bytes())},
		{"fail/bad checksum", 1, b64(badSum)},
		{"fail/truncated", 1, b64(good[:len(good)-3])},
		{"fail/trailing data", 1, b64(append(bytes.Clone(good), 0))},
		{"fail/preset dictionary", 1, b64(dict.Bytes())},
		{"fail/not zlib", 1, b64([]byte("hello, world"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := statuslist.Decode(tt.bits, tt.lst); kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("Decode = %v, want Invalid", err)
			}
		})
	}
	// The largest list allowed passes.
	if _, err := statuslist.Decode(1, b64(zlibBytes(t, zlib.BestCompression, make([]byte, statuslist.MaxDecodedSize)))); err != nil {
		t.Fatalf("a list of MaxDecodedSize: %v", err)
	}
}

func TestGetSet(t *testing.T) {
	for _, bits := range []int{1, 2, 4, 8} {
		l, err := statuslist.New(bits, 1000)
		if err != nil {
			t.Fatal(err)
		}
		top := statuslist.Status(1<<bits - 1)
		// Neighbours do not disturb each other.
		for i := range l.Len() {
			if err := l.Set(i, statuslist.Status(i)&top); err != nil {
				t.Fatal(err)
			}
		}
		for i := range l.Len() {
			if got, _ := l.Get(i); got != statuslist.Status(i)&top {
				t.Fatalf("bits %d: status[%d] = %v", bits, i, got)
			}
		}
		for _, tt := range []struct {
			name string
			idx  int
			s    statuslist.Status
		}{
			{"fail/negative", -1, 0},
			{"fail/past the end", l.Len(), 0},
		} {
			if err := l.Set(tt.idx, tt.s); kernel.ErrorCode(err) != kernel.Invalid {
				t.Errorf("bits %d %s: Set = %v", bits, tt.name, err)
			}
			if _, err := l.Get(tt.idx); kernel.ErrorCode(err) != kernel.Invalid {
				t.Errorf("bits %d %s: Get = %v", bits, tt.name, err)
			}
		}
		if bits < 8 {
			if err := l.Set(0, top+1); kernel.ErrorCode(err) != kernel.Invalid {
				t.Errorf("bits %d: a status of %d bits accepted: %v", bits, bits+1, err)
			}
		}
	}
	for _, tt := range []struct {
		name    string
		bits, n int
	}{{"fail/bits 3", 3, 8}, {"fail/no entries", 1, 0}, {"fail/too many", 8, statuslist.MaxDecodedSize + 1}} {
		if _, err := statuslist.New(tt.bits, tt.n); err == nil {
			t.Errorf("%s: New accepted", tt.name)
		}
	}
}
