package pdf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"

	"civitas/internal/kernel"
)

const (
	maxSections  = 1024 // /Prev chain length; real files have a handful
	maxObjStms   = 16   // decoded object streams kept in memory at once
	tailWindow   = 2048 // bytes searched at the end of the file for startxref
	headerWindow = 1024 // bytes searched at the start for %PDF-
)

// malformed is the error for a file this package cannot read; the cause says where.
func malformed(format string, args ...any) error {
	return kernel.E(kernel.Invalid, "pdf.error.malformed").WithCause(fmt.Errorf("pdf: "+format, args...))
}

type entryKind byte

const (
	entryFree entryKind = iota
	entryInFile
	entryCompressed
)

type xrefEntry struct {
	kind entryKind
	off  int64 // in file: byte offset; compressed: number of the object stream
	gen  int   // in file: generation; compressed: index in the object stream
}

// section is one cross-reference section of the /Prev chain.
type section struct {
	off     int64
	stream  bool // a cross-reference stream (else a classic table, maybe with /XRefStm)
	trailer Dict
}

type objStream struct {
	data  []byte
	first int64
	offs  map[int]int64
}

// Document is the structure of a PDF file opened with Open. It keeps the
// reader, not the file's content; objects are parsed on demand. A Document
// is not safe for concurrent use (it caches object streams).
type Document struct {
	r         io.ReaderAt
	size      int64
	header    string
	xref      map[int]xrefEntry
	sections  []section // newest first
	trailer   Dict
	ready     bool // the whole /Prev chain is loaded
	objstms   map[int]*objStream
	resolving map[int]bool
}

// Open reads the structure of a PDF from r (size bytes): header, every
// cross-reference section along the /Prev chain (classic tables, streams and
// hybrids with /XRefStm), and the trailer. Content streams are not read.
func Open(r io.ReaderAt, size int64) (*Document, error) {
	d := &Document{r: r, size: size, xref: map[int]xrefEntry{}, objstms: map[int]*objStream{}, resolving: map[int]bool{}}
	if size < 16 {
		return nil, malformed("file of %d bytes", size)
	}
	if err := d.readHeader(); err != nil {
		return nil, err
	}
	start, err := d.findStartXref()
	if err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	for off := start; ; {
		if seen[off] {
			return nil, malformed("/Prev chain loops at %d", off)
		}
		if len(seen) >= maxSections {
			return nil, malformed("more than %d cross-reference sections", maxSections)
		}
		seen[off] = true
		s, err := d.readSection(off)
		if err != nil {
			return nil, err
		}
		d.sections = append(d.sections, s)
		prev, ok := s.trailer["Prev"]
		if !ok {
			break
		}
		p, isInt := prev.(Int)
		if !isInt || p < 0 || int64(p) >= size {
			return nil, malformed("bad /Prev in section at %d", off)
		}
		off = int64(p)
	}
	d.ready = true
	d.trailer = d.sections[0].trailer
	for _, s := range d.sections {
		if _, enc := s.trailer["Encrypt"]; enc {
			return nil, kernel.E(kernel.Invalid, "pdf.error.encrypted")
		}
	}
	if _, ok := d.trailer["Root"]; !ok {
		// Some writers put /Root only in an older trailer.
		for _, s := range d.sections[1:] {
			if root, ok := s.trailer["Root"]; ok {
				d.trailer = copyDict(d.trailer)
				d.trailer["Root"] = root
				break
			}
		}
	}
	if _, err := d.Catalog(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Document) readHeader() error {
	b := make([]byte, min(headerWindow, d.size))
	if _, err := d.r.ReadAt(b, 0); err != nil && err != io.EOF {
		return kernel.Wrap(err, "pdf: read header")
	}
	i := bytes.Index(b, []byte("%PDF-"))
	if i < 0 {
		return malformed("no %%PDF- header")
	}
	v := b[i+5:]
	n := 0
	for n < len(v) && n < 4 && (v[n] >= '0' && v[n] <= '9' || v[n] == '.') {
		n++
	}
	if n < 3 || v[1] != '.' {
		return malformed("bad version in header")
	}
	d.header = string(v[:n])
	return nil
}

// findStartXref reads the offset after the last "startxref" keyword.
func (d *Document) findStartXref() (int64, error) {
	n := min(tailWindow, d.size)
	b := make([]byte, n)
	if _, err := d.r.ReadAt(b, d.size-n); err != nil && err != io.EOF {
		return 0, kernel.Wrap(err, "pdf: read trailer")
	}
	i := bytes.LastIndex(b, []byte("startxref"))
	if i < 0 {
		return 0, malformed("no startxref in the last %d bytes", n)
	}
	l := newBytesLexer(b[i+9:], 0)
	t, err := l.next()
	if err != nil || t.kind != tokInt || t.i <= 0 || t.i >= d.size {
		return 0, malformed("bad startxref value")
	}
	return t.i, nil
}

func (d *Document) readSection(off int64) (section, error) {
	l := newLexer(d.r, off, d.size, 4096)
	t, err := l.next()
	if err != nil {
		return section{}, malformed("cross-reference at %d: %v", off, err)
	}
	if t.kind == tokKeyword && t.s == "xref" {
		// A table is 20 bytes an object: big files have big tables, bounded by the file.
		l.limit = d.size
		return d.readTable(off, l)
	}
	entries, trailer, err := d.readXrefStream(off)
	if err != nil {
		return section{}, err
	}
	d.merge(entries)
	return section{off: off, stream: true, trailer: trailer}, nil
}

// merge adds the entries of an older section: an object keeps the entry of
// the newest section that mentions it.
func (d *Document) merge(entries map[int]xrefEntry) {
	for n, e := range entries {
		if _, ok := d.xref[n]; !ok {
			d.xref[n] = e
		}
	}
}

func (d *Document) readTable(off int64, l *lexer) (section, error) {
	entries := map[int]xrefEntry{}
	for {
		t, err := l.next()
		if err != nil {
			return section{}, malformed("cross-reference table at %d: %v", off, err)
		}
		if t.kind == tokKeyword && t.s == "trailer" {
			break
		}
		c, err := l.next()
		if err != nil || t.kind != tokInt || c.kind != tokInt || t.i < 0 || c.i < 0 || t.i+c.i > maxObjectNum+1 {
			return section{}, malformed("bad subsection header in table at %d", off)
		}
		for k := int64(0); k < c.i; k++ {
			o, err1 := l.next()
			g, err2 := l.next()
			f, err3 := l.next()
			if err := errors.Join(err1, err2, err3); err != nil {
				return section{}, malformed("table at %d: %v", off, err)
			}
			if o.kind != tokInt || g.kind != tokInt || f.kind != tokKeyword || (f.s != "n" && f.s != "f") || o.i < 0 || g.i < 0 ||
				g.i > 65535 && (f.s == "n" || g.i > 1<<20) {
				// A free entry's generation is never used to find an object:
				// MuPDF writes the free-list head as 65536 after a re-save,
				// one past the largest, and every reader accepts it.
				return section{}, malformed("bad entry in table at %d (near %d)", off, o.pos)
			}
			num := int(t.i + k)
			if _, dup := entries[num]; dup {
				continue
			}
			if f.s == "f" {
				entries[num] = xrefEntry{kind: entryFree}
				continue
			}
			if o.i >= d.size {
				return section{}, malformed("object %d offset %d beyond end of file", num, o.i)
			}
			entries[num] = xrefEntry{kind: entryInFile, off: o.i, gen: int(g.i)}
		}
	}
	o, err := l.object(0)
	if err != nil {
		return section{}, malformed("trailer of table at %d: %v", off, err)
	}
	trailer, ok := o.(Dict)
	if !ok {
		return section{}, malformed("trailer of table at %d is not a dictionary", off)
	}
	// A hybrid file's table leaves out (or marks free) the objects kept in
	// object streams; its /XRefStm stream supplies them (ISO 32000-1 §7.5.8.4).
	if x, ok := trailer["XRefStm"]; ok {
		xo, isInt := x.(Int)
		if !isInt || xo <= 0 || int64(xo) >= d.size {
			return section{}, malformed("bad /XRefStm in trailer at %d", off)
		}
		more, _, err := d.readXrefStream(int64(xo))
		if err != nil {
			return section{}, err
		}
		for n, e := range more {
			if old, ok := entries[n]; !ok || old.kind == entryFree {
				entries[n] = e
			}
		}
	}
	d.merge(entries)
	return section{off: off, trailer: trailer}, nil
}

func (d *Document) readXrefStream(off int64) (map[int]xrefEntry, Dict, error) {
	in, err := d.readIndirect(off)
	if err != nil {
		return nil, nil, malformed("cross-reference stream at %d: %v", off, err)
	}
	dict, _ := in.obj.(Dict)
	if !in.stream || dict.Name("Type") != "XRef" {
		return nil, nil, malformed("no cross-reference at %d", off)
	}
	s, err := d.stream(dict, in.data)
	if err != nil {
		return nil, nil, err
	}
	data, err := d.decodedStream(s)
	if err != nil {
		return nil, nil, malformed("cross-reference stream at %d: %v", off, err)
	}
	var w [3]int
	wa, _ := dict["W"].(Array)
	if len(wa) != 3 {
		return nil, nil, malformed("bad /W in stream at %d", off)
	}
	for i, x := range wa {
		v, ok := x.(Int)
		if !ok || v < 0 || v > 8 {
			return nil, nil, malformed("bad /W in stream at %d", off)
		}
		w[i] = int(v)
	}
	width := w[0] + w[1] + w[2]
	size, ok := dict.Int("Size")
	if !ok || size < 0 || size > maxObjectNum+1 || width == 0 {
		return nil, nil, malformed("bad /Size or /W in stream at %d", off)
	}
	index := Array{Int(0), Int(size)}
	if ia, ok := dict["Index"].(Array); ok {
		index = ia
	}
	if len(index)%2 != 0 {
		return nil, nil, malformed("bad /Index in stream at %d", off)
	}
	entries := map[int]xrefEntry{}
	pos := 0
	for i := 0; i < len(index); i += 2 {
		first, ok1 := index[i].(Int)
		count, ok2 := index[i+1].(Int)
		if !ok1 || !ok2 || first < 0 || count < 0 || first+count > maxObjectNum+1 {
			return nil, nil, malformed("bad /Index in stream at %d", off)
		}
		for k := 0; k < int(count); k++ {
			if pos+width > len(data) {
				return nil, nil, malformed("cross-reference stream at %d is short", off)
			}
			f := field(data[pos:pos+w[0]], 1)
			f2 := field(data[pos+w[0]:pos+w[0]+w[1]], 0)
			f3 := field(data[pos+w[0]+w[1]:pos+width], 0)
			pos += width
			num := int(first) + k
			if _, dup := entries[num]; dup {
				continue
			}
			switch f {
			case 0:
				entries[num] = xrefEntry{kind: entryFree}
			case 1:
				if f2 < 0 || f2 >= d.size || f3 > 65535 {
					return nil, nil, malformed("object %d offset beyond end of file", num)
				}
				entries[num] = xrefEntry{kind: entryInFile, off: f2, gen: int(f3)}
			case 2:
				if f2 < 0 || f2 > maxObjectNum || f3 > maxObjectNum {
					return nil, nil, malformed("bad compressed entry for object %d", num)
				}
				entries[num] = xrefEntry{kind: entryCompressed, off: f2, gen: int(f3)}
			}
			// Other types are reserved and mean null references (§7.5.8.3).
		}
	}
	return entries, dict, nil
}

// field reads a big-endian number; an absent field (width 0) has a default.
func field(b []byte, def int64) int64 {
	if len(b) == 0 {
		return def
	}
	var v int64
	for _, c := range b {
		v = v<<8 | int64(c)
	}
	return v
}

func (d *Document) readIndirect(off int64) (indirect, error) {
	if off < 0 || off >= d.size {
		return indirect{}, fmt.Errorf("offset %d outside the file", off)
	}
	l := lexers.Get().(*lexer)
	l.r.Reset(io.NewSectionReader(d.r, off, d.size-off))
	l.pos, l.limit, l.back = off, off+maxObjectBytes, l.back[:0]
	obj, err := l.indirect()
	l.r.Reset(nil) // keeps no reference to the file
	lexers.Put(l)
	return obj, err
}

// lexers read indirect objects: opening a document reads a few dozen, and
// a fresh 4 KiB buffer for each cost more than the parsing on a small file.
var lexers = sync.Pool{New: func() any { return &lexer{r: bufio.NewReaderSize(nil, 4096)} }}

// stream builds a Stream, checking /Length against the "endstream" keyword.
// A missing or wrong /Length (common in damaged files) is replaced by the
// position of the next "endstream".
func (d *Document) stream(dict Dict, data int64) (*Stream, error) {
	var length int64 = -1
	switch l := dict["Length"].(type) {
	case Int:
		length = int64(l)
	case Ref:
		// While the chain is loading the table is incomplete; search instead.
		if d.ready {
			if o, err := d.Object(l); err == nil {
				if i, ok := o.(Int); ok {
					length = int64(i)
				}
			}
		}
	}
	if length >= 0 && length <= d.size-data && d.endstreamAt(data+length) {
		return &Stream{Dict: dict, Offset: data, Length: length}, nil
	}
	end, err := d.searchEndstream(data)
	if err != nil {
		return nil, err
	}
	return &Stream{Dict: dict, Offset: data, Length: end - data}, nil
}

func (d *Document) endstreamAt(off int64) bool {
	var b [32]byte
	n, _ := d.r.ReadAt(b[:], off)
	s := bytes.TrimLeft(b[:n], "\x00\t\n\f\r ")
	return bytes.HasPrefix(s, []byte("endstream"))
}

// searchEndstream finds the next "endstream" after off and returns where the
// data ends, the end of line before the keyword excluded.
func (d *Document) searchEndstream(off int64) (int64, error) {
	const chunk = 64 << 10
	kw := []byte("endstream")
	buf := make([]byte, chunk+len(kw))
	for pos := off; pos < d.size; pos += chunk {
		n, err := d.r.ReadAt(buf, pos)
		if err != nil && err != io.EOF {
			return 0, kernel.Wrap(err, "pdf: read")
		}
		if i := bytes.Index(buf[:n], kw); i >= 0 {
			end := pos + int64(i)
			// Drop the end of line that belongs to the keyword.
			if i >= 1 && buf[i-1] == '\n' {
				end--
				if i >= 2 && buf[i-2] == '\r' {
					end--
				}
			} else if i >= 1 && buf[i-1] == '\r' {
				end--
			}
			return max(end, off), nil
		}
	}
	return 0, malformed("stream at %d has no endstream", off)
}

// decodedStream reads and decodes a stream this package needs to read
// (cross-reference and object streams), within maxDecoded.
func (d *Document) decodedStream(s *Stream) ([]byte, error) {
	if s.Length > maxDecoded {
		return nil, errors.New("stream too large")
	}
	raw := make([]byte, s.Length)
	if _, err := d.r.ReadAt(raw, s.Offset); err != nil && !(err == io.EOF && s.Offset+s.Length <= d.size) {
		return nil, err
	}
	return decode(s.Dict, raw)
}

// Object resolves an indirect reference, from the file or from an object
// stream. A reference to a free or unknown object gives Null, as the
// standard says; a damaged object gives "pdf.error.malformed".
func (d *Document) Object(ref Ref) (Object, error) {
	e, ok := d.xref[ref.Num]
	if !ok || e.kind == entryFree {
		return Null{}, nil
	}
	if d.resolving[ref.Num] {
		return nil, malformed("object %d refers to itself", ref.Num)
	}
	d.resolving[ref.Num] = true
	defer delete(d.resolving, ref.Num)
	if e.kind == entryCompressed {
		if ref.Gen != 0 {
			return Null{}, nil
		}
		return d.fromObjStm(int(e.off), e.gen, ref.Num)
	}
	if e.gen != ref.Gen {
		return Null{}, nil
	}
	in, err := d.readIndirect(e.off)
	if err != nil {
		return nil, malformed("object %d at %d: %v", ref.Num, e.off, err)
	}
	if in.ref.Num != ref.Num {
		return nil, malformed("object %d: offset %d holds object %d", ref.Num, e.off, in.ref.Num)
	}
	if in.stream {
		return d.stream(in.obj.(Dict), in.data)
	}
	return in.obj, nil
}

func (d *Document) fromObjStm(stm, index, num int) (Object, error) {
	os, err := d.objStm(stm)
	if err != nil {
		return nil, err
	}
	off, ok := os.offs[num]
	if !ok {
		return Null{}, nil
	}
	start := os.first + off
	if start < 0 || start >= int64(len(os.data)) {
		return nil, malformed("object %d outside object stream %d", num, stm)
	}
	o, err := newBytesLexer(os.data[start:], 0).object(0)
	if err != nil {
		return nil, malformed("object %d in object stream %d: %v", num, stm, err)
	}
	return o, nil
}

func (d *Document) objStm(num int) (*objStream, error) {
	if os, ok := d.objstms[num]; ok {
		return os, nil
	}
	o, err := d.Object(Ref{num, 0})
	if err != nil {
		return nil, err
	}
	s, ok := o.(*Stream)
	if !ok || s.Dict.Name("Type") != "ObjStm" {
		return nil, malformed("object %d is not an object stream", num)
	}
	n, ok1 := s.Dict.Int("N")
	first, ok2 := s.Dict.Int("First")
	if !ok1 || !ok2 || n < 0 || first < 0 {
		return nil, malformed("object stream %d: bad /N or /First", num)
	}
	data, err := d.decodedStream(s)
	if err != nil {
		return nil, malformed("object stream %d: %v", num, err)
	}
	if first > int64(len(data)) || n > first {
		return nil, malformed("object stream %d: bad /N or /First", num)
	}
	os := &objStream{data: data, first: first, offs: map[int]int64{}}
	l := newBytesLexer(data[:first], 0)
	for k := int64(0); k < n; k++ {
		a, err1 := l.next()
		b, err2 := l.next()
		if errors.Join(err1, err2) != nil || a.kind != tokInt || b.kind != tokInt || a.i < 0 || a.i > maxObjectNum || b.i < 0 {
			return nil, malformed("object stream %d: bad header", num)
		}
		if _, dup := os.offs[int(a.i)]; !dup {
			os.offs[int(a.i)] = b.i
		}
	}
	if len(d.objstms) >= maxObjStms {
		clear(d.objstms)
	}
	d.objstms[num] = os
	return os, nil
}

// resolve follows references until it reaches a direct object.
func (d *Document) resolve(o Object) (Object, error) {
	if o == nil {
		return Null{}, nil
	}
	for i := 0; i < 8; i++ {
		r, ok := o.(Ref)
		if !ok {
			return o, nil
		}
		var err error
		if o, err = d.Object(r); err != nil {
			return nil, err
		}
	}
	return nil, malformed("reference chain too long")
}

func (d *Document) resolveDict(o Object) (Dict, error) {
	o, err := d.resolve(o)
	if err != nil {
		return nil, err
	}
	switch v := o.(type) {
	case Dict:
		return v, nil
	case Null, nil:
		return nil, nil
	}
	return nil, malformed("expected a dictionary, found %T", o)
}

// Trailer returns the newest trailer dictionary (for a cross-reference
// stream, its dictionary). It is a copy: changing it changes nothing.
func (d *Document) Trailer() Dict { return copyDict(d.trailer) }

// Catalog returns the document catalog (/Root of the trailer).
func (d *Document) Catalog() (Dict, error) {
	c, err := d.resolveDict(d.trailer["Root"])
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, malformed("no catalog")
	}
	return c, nil
}

// Version returns the PDF version: the header's, or the catalog's /Version
// when that is later (ISO 32000-1 §7.2.2).
func (d *Document) Version() string {
	v := d.header
	if c, err := d.Catalog(); err == nil {
		if cv := string(c.Name("Version")); cv != "" && versionLess(v, cv) {
			v = cv
		}
	}
	return v
}

func versionLess(a, b string) bool {
	fa, errA := strconv.ParseFloat(a, 64)
	fb, errB := strconv.ParseFloat(b, 64)
	return errA == nil && errB == nil && fa < fb
}

// Refs lists the objects in use, in object-number order.
func (d *Document) Refs() []Ref {
	var refs []Ref
	for n, e := range d.xref {
		switch e.kind {
		case entryInFile:
			refs = append(refs, Ref{n, e.gen})
		case entryCompressed:
			refs = append(refs, Ref{n, 0})
		}
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Num < refs[j].Num })
	return refs
}

func copyDict(d Dict) Dict {
	c := make(Dict, len(d))
	for k, v := range d {
		c[k] = v
	}
	return c
}
