package pdf

import (
	"bytes"
	"crypto"
	"io"
	"sort"
	"strings"
	"time"

	"civitas/internal/kernel"
)

const maxFieldDepth = 32

// Signature is a signature field of a document and what its signature
// dictionary says. It is read from the file, not verified: checking the CMS
// is the caller's job, with DigestRanges for the signed bytes.
type Signature struct {
	Field       string // full field name
	Ref         Ref    // the signature dictionary (the field's /V)
	Type        Name   // Sig or DocTimeStamp
	SubFilter   Name
	ByteRange   [4]int64
	Contents    []byte // the DER CMS or time-stamp token, padding removed
	VRIKey      string // the key of the signature's /VRI entry in a DSS (see VRIKey)
	Name        string
	Reason      string
	Location    string
	ContactInfo string
	M           string    // /M as written
	Time        time.Time // /M parsed; zero when absent or unreadable
	DocMDP      int       // P of a certification signature, else 0

	// Revision is the offset just after the %%EOF (and its end of line) of
	// the incremental update that added the signature dictionary.
	Revision int64
	// CoversRevision says the byte range starts at 0, ends at Revision and
	// leaves out exactly the /Contents string of this signature dictionary.
	// It is false for earlier signatures' ranges only if the file was
	// tampered with or badly written; later updates do not change it.
	CoversRevision bool
}

// field is one terminal field found while walking the form.
type formField struct {
	name string
	ft   Name
	dict Dict
}

// fields walks the AcroForm field tree; cycles and deep trees are cut.
func (d *Document) fields() ([]formField, error) {
	cat, err := d.Catalog()
	if err != nil {
		return nil, err
	}
	af, err := d.resolveDict(cat["AcroForm"])
	if err != nil || af == nil {
		return nil, err
	}
	roots, err := d.resolve(af["Fields"])
	if err != nil {
		return nil, err
	}
	arr, _ := roots.(Array)
	var out []formField
	seen := map[Ref]bool{}
	var walk func(o Object, parent string, ft Name, depth int) error
	walk = func(o Object, parent string, ft Name, depth int) error {
		if depth > maxFieldDepth {
			return malformed("form fields nested too deeply")
		}
		if r, ok := o.(Ref); ok {
			if seen[r] {
				return nil
			}
			seen[r] = true
		}
		f, err := d.resolveDict(o)
		if err != nil || f == nil {
			return err
		}
		name := parent
		if t, ok := f["T"].(String); ok {
			if name != "" {
				name += "."
			}
			name += DecodeText(t)
		}
		if n := f.Name("FT"); n != "" {
			ft = n
		}
		kids, err := d.resolve(f["Kids"])
		if err != nil {
			return err
		}
		karr, _ := kids.(Array)
		// Kids that carry /T are fields; kids without it are only widgets.
		hasFieldKids := false
		for _, k := range karr {
			kd, err := d.resolveDict(k)
			if err != nil {
				return err
			}
			if _, ok := kd["T"]; ok {
				hasFieldKids = true
				if err := walk(k, name, ft, depth+1); err != nil {
					return err
				}
			}
		}
		if !hasFieldKids {
			out = append(out, formField{name: name, ft: ft, dict: f})
		}
		return nil
	}
	for _, o := range arr {
		if err := walk(o, "", "", 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Signatures lists the signed signature fields, oldest revision first.
func (d *Document) Signatures() ([]Signature, error) {
	fields, err := d.fields()
	if err != nil {
		return nil, err
	}
	var sigs []Signature
	for _, f := range fields {
		if f.ft != "Sig" {
			continue
		}
		v, err := d.resolveDict(f.dict["V"])
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue // an empty signature field, not signed yet
		}
		s := Signature{Field: f.name, Type: v.Name("Type"), SubFilter: v.Name("SubFilter")}
		s.Ref, _ = f.dict["V"].(Ref)
		if br, ok := v["ByteRange"].(Array); ok && len(br) == 4 {
			for i, x := range br {
				n, _ := x.(Int)
				s.ByteRange[i] = int64(n)
			}
		}
		raw, _ := v["Contents"].(String)
		s.Contents = trimDER([]byte(raw))
		s.VRIKey = VRIKey([]byte(raw))
		for key, dst := range map[Name]*string{"Name": &s.Name, "Reason": &s.Reason, "Location": &s.Location, "ContactInfo": &s.ContactInfo} {
			if t, ok := v[key].(String); ok {
				*dst = DecodeText(t)
			}
		}
		if m, ok := v["M"].(String); ok {
			s.M = string(m)
			s.Time, _ = ParseDate(s.M)
		}
		s.DocMDP = d.docMDP(v)
		if s.Ref != (Ref{}) {
			if err := d.checkCoverage(&s, string(raw)); err != nil {
				return nil, err
			}
		}
		sigs = append(sigs, s)
	}
	sort.SliceStable(sigs, func(i, j int) bool { return sigs[i].Revision < sigs[j].Revision })
	return sigs, nil
}

// docMDP returns P of a DocMDP transform in a signature's /Reference.
func (d *Document) docMDP(v Dict) int {
	refs, err := d.resolve(v["Reference"])
	if err != nil {
		return 0
	}
	arr, _ := refs.(Array)
	for _, r := range arr {
		sr, err := d.resolveDict(r)
		if err != nil || sr.Name("TransformMethod") != "DocMDP" {
			continue
		}
		tp, err := d.resolveDict(sr["TransformParams"])
		if err != nil {
			return 2
		}
		if p, ok := tp.Int("P"); ok && p >= 1 && p <= 3 {
			return int(p)
		}
		return 2 // the default P (ISO 32000-1 Table 254)
	}
	return 0
}

// checkCoverage finds the revision that added s's dictionary and checks
// that the byte range is that whole revision less the /Contents string.
func (d *Document) checkCoverage(s *Signature, contents string) error {
	e, ok := d.xref[s.Ref.Num]
	if !ok || e.kind == entryFree {
		return nil
	}
	objOff := e.off
	inObjStm := e.kind == entryCompressed
	if inObjStm {
		se, ok := d.xref[int(e.off)]
		if !ok || se.kind != entryInFile {
			return nil
		}
		objOff = se.off
	}
	// The update holding the object ends with the first section after it.
	secOff := int64(-1)
	for _, sec := range d.sections {
		if sec.off > objOff && (secOff < 0 || sec.off < secOff) {
			secOff = sec.off
		}
	}
	if secOff < 0 {
		return nil
	}
	eof, end, err := d.findEOF(secOff)
	if err != nil {
		return err
	}
	s.Revision = end
	br := s.ByteRange
	if inObjStm || br[0] != 0 || br[1] <= objOff || br[2] <= br[1] || br[3] < 0 || (br[2]+br[3] != end && br[2]+br[3] != eof) {
		return nil
	}
	// The bytes left out must be exactly this dictionary's hex string.
	l := newLexer(d.r, br[1], d.size, 4096)
	t, err := l.next()
	if err != nil || t.kind != tokString || t.pos != br[1] || t.end != br[2] || t.s != contents {
		return nil
	}
	var c [1]byte
	if _, err := d.r.ReadAt(c[:], br[1]); err != nil || c[0] != '<' {
		return nil
	}
	s.CoversRevision = true
	return nil
}

// findEOF returns the offsets of the end of the first "%%EOF" after off,
// without and with its end of line.
func (d *Document) findEOF(off int64) (int64, int64, error) {
	const chunk = 64 << 10
	kw := []byte("%%EOF")
	buf := make([]byte, chunk+8)
	for pos := off; pos < d.size; pos += chunk {
		n, err := d.r.ReadAt(buf, pos)
		if err != nil && err != io.EOF {
			return 0, 0, kernel.Wrap(err, "pdf: read")
		}
		b := buf[:n]
		i := bytes.Index(b, kw)
		if i < 0 || i >= chunk { // a match past chunk is found again, whole, in the next read
			continue
		}
		eof := pos + int64(i+len(kw))
		rest := b[i+len(kw):]
		end := eof
		if strings.HasPrefix(string(rest), "\r\n") {
			end += 2
		} else if len(rest) > 0 && (rest[0] == '\n' || rest[0] == '\r') {
			end++
		}
		return eof, end, nil
	}
	return d.size, d.size, nil
}

// trimDER cuts the zero padding after a DER value (the reserved space of
// /Contents is larger than the CMS).
func trimDER(b []byte) []byte {
	if len(b) >= 2 && b[0] == 0x30 {
		n, hdr := int64(b[1]), int64(2)
		if n&0x80 != 0 {
			k := n & 0x7f
			if k == 0 || k > 4 || int64(len(b)) < 2+k {
				return b
			}
			n = 0
			for _, c := range b[2 : 2+k] {
				n = n<<8 | int64(c)
			}
			hdr += k
		}
		if hdr+n <= int64(len(b)) {
			return b[:hdr+n]
		}
		return b
	}
	return bytes.TrimRight(b, "\x00")
}

// DigestRanges hashes the two byte ranges of a signature, reading r in
// chunks so that files of any size cost little memory.
func DigestRanges(r io.ReaderAt, byteRange [4]int64, h crypto.Hash) ([]byte, error) {
	if !h.Available() {
		return nil, kernel.E(kernel.Invalid, "pdf.error.bad_hash")
	}
	for _, v := range byteRange {
		if v < 0 || v > 1<<50 {
			return nil, kernel.E(kernel.Invalid, "pdf.error.bad_byte_range")
		}
	}
	if byteRange[0]+byteRange[1] > byteRange[2] {
		return nil, kernel.E(kernel.Invalid, "pdf.error.bad_byte_range")
	}
	hh := h.New()
	buf := make([]byte, 64<<10)
	for i := 0; i < 4; i += 2 {
		sr := io.NewSectionReader(r, byteRange[i], byteRange[i+1])
		n, err := io.CopyBuffer(hh, sr, buf)
		if err != nil {
			return nil, kernel.Wrap(err, "pdf: read byte range")
		}
		if n != byteRange[i+1] {
			return nil, kernel.E(kernel.Invalid, "pdf.error.bad_byte_range")
		}
	}
	return hh.Sum(nil), nil
}
