package pdf

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"civitas/internal/kernel"
)

// SubFilter values this package writes.
const (
	SubFilterCAdES   = "ETSI.CAdES.detached"
	SubFilterRFC3161 = "ETSI.RFC3161"
	SubFilterPKCS7   = "adbe.pkcs7.detached"
)

const (
	defaultReserve = 16384
	maxReserve     = 512 << 10
	copyChunk      = 256 << 10
)

// SignOptions say what goes into the signature dictionary.
type SignOptions struct {
	// Name, Reason, Location and ContactInfo are text strings; non-ASCII
	// text is written as UTF-16BE with a byte-order mark.
	Name, Reason, Location, ContactInfo string
	SignTime                            time.Time // /M; left out when zero
	SubFilter                           string    // default ETSI.CAdES.detached; ETSI.RFC3161 for a document time-stamp
	Reserve                             int       // bytes reserved for the CMS (written as twice as many hex digits); default 16384
	DocMDP                              int       // 1, 2 or 3 makes a certification signature; only for the first signature
	FieldName                           string    // default "Signature<N>"; must be new
	// InPlace says that w is the file r reads (an *os.File open for both):
	// its first size bytes are there already, so only the update is written.
	InPlace bool
	// Appearance makes the signature visible: a box drawn on a page. Nil
	// (the default) keeps the widget invisible, on page 1.
	Appearance *Appearance
}

// Sign writes to w the file read from r (size bytes), unchanged, followed by
// one incremental update that adds a signed signature field: an invisible
// widget on page 1, the signature dictionary, new versions of the objects
// that must list the field (the page's annotations, the form or catalog),
// and a cross-reference section of the same kind as the file's last one.
//
// It is Prepare, then sign over the digest, then Embed. The whole file is
// in w, with /Contents still zero, when sign is called: sign receives the
// SHA-256 of the signed byte ranges and returns the DER CMS (or time-stamp
// token), which is then written into the reserved space. On error w holds
// an incomplete or unsigned file and must be discarded.
func Sign(w io.WriterAt, r io.ReaderAt, size int64, o SignOptions, sign func(digest []byte) ([]byte, error)) error {
	p, err := Prepare(w, r, size, o)
	if err != nil {
		return err
	}
	cms, err := sign(p.Digest)
	if err != nil {
		return kernel.Wrap(err, "pdf: sign")
	}
	return p.Embed(w, cms)
}

// zlibWriters compress cross-reference streams: a fresh compressor costs
// most of a megabyte, for an xref section of a few hundred bytes.
var zlibWriters = sync.Pool{New: func() any { return zlib.NewWriter(nil) }}

// copyBufs are the buffers Prepare copies and hashes the input through:
// a busy signing server would otherwise make and clear a fresh one for
// every file.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyChunk); return &b }}

// Prepared is a file written with its signature space still zero: what a
// signer must sign and where the signature goes. Its fields are exported so
// that a service can store it (as JSON) while the holder approves, and
// Embed into the same file later, in another process.
type Prepared struct {
	Field          string   // the full name of the new signature field
	ByteRange      [4]int64 // the signed ranges, as written in /ByteRange
	Digest         []byte   // SHA-256 of the bytes of ByteRange
	ContentsOffset int64    // offset of the first hex digit of /Contents (after '<')
	Reserve        int      // bytes the signature may take (twice as many hex digits)
	Size           int64    // the size of the whole file
}

// Prepare writes to w the file read from r (size bytes), unchanged unless
// o.InPlace says w already holds it, and one incremental update with a new
// signature field whose /Contents is all zeros. The input is read once, in
// chunks, and hashed as it goes by; only the update (a few kilobytes plus
// the reserved space) is built in memory.
func Prepare(w io.WriterAt, r io.ReaderAt, size int64, o SignOptions) (*Prepared, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	d, err := Open(r, size)
	if err != nil {
		return nil, err
	}
	u, err := d.buildUpdate(o)
	if err != nil {
		return nil, err
	}
	defer func() {
		if u.pooled.Cap() <= maxPooledUpdate {
			updateBufs.Put(u.pooled)
		}
	}()

	h := sha256.New()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var dst io.Writer = io.MultiWriter(io.NewOffsetWriter(w, 0), h)
	if o.InPlace {
		// The bytes are in w already; they are read only to be hashed.
		dst = h
	}
	if _, err := io.CopyBuffer(dst, io.NewSectionReader(r, 0, size), buf); err != nil {
		return nil, kernel.Wrap(err, "pdf: copy input")
	}
	h.Write(u.buf[:u.contentsStart])
	h.Write(u.buf[u.contentsEnd:])
	if _, err := w.WriteAt(u.buf, size); err != nil {
		return nil, kernel.Wrap(err, "pdf: write update")
	}
	start := size + int64(u.contentsStart)
	end := size + int64(u.contentsEnd)
	total := size + int64(len(u.buf))
	return &Prepared{
		Field:          u.field,
		ByteRange:      [4]int64{0, start, end, total - end},
		Digest:         h.Sum(nil),
		ContentsOffset: start + 1,
		Reserve:        (u.contentsEnd - u.contentsStart - 2) / 2,
		Size:           total,
	}, nil
}

// Embed writes the DER signature (CMS or time-stamp token) into the
// reserved /Contents of a file that Prepare wrote to w. Only that space is
// written, so the signed bytes stay as they were hashed.
func (p *Prepared) Embed(w io.WriterAt, cms []byte) error {
	if len(cms) > p.Reserve {
		return kernel.E(kernel.Invalid, "pdf.error.signature_too_large", len(cms), p.Reserve)
	}
	if p.ContentsOffset <= 0 || p.ContentsOffset+2*int64(p.Reserve) > p.Size {
		return kernel.E(kernel.Invalid, "pdf.error.bad_byte_range")
	}
	hx := make([]byte, 2*len(cms))
	hex.Encode(hx, cms)
	if _, err := w.WriteAt(hx, p.ContentsOffset); err != nil {
		return kernel.Wrap(err, "pdf: write signature")
	}
	return nil
}

func (o *SignOptions) defaults() error {
	if o.SubFilter == "" {
		o.SubFilter = SubFilterCAdES
	}
	switch o.SubFilter {
	case SubFilterCAdES, SubFilterRFC3161, SubFilterPKCS7:
	default:
		return kernel.E(kernel.Invalid, "pdf.error.bad_sub_filter")
	}
	if o.Reserve == 0 {
		o.Reserve = defaultReserve
	}
	if o.Reserve < 64 || o.Reserve > maxReserve {
		return kernel.E(kernel.Invalid, "pdf.error.bad_reserve")
	}
	if o.DocMDP < 0 || o.DocMDP > 3 || (o.DocMDP != 0 && o.SubFilter == SubFilterRFC3161) {
		return kernel.E(kernel.Invalid, "pdf.error.bad_docmdp")
	}
	if o.FieldName != "" && (strings.Contains(o.FieldName, ".") || strings.TrimSpace(o.FieldName) == "") {
		// A period separates the parts of a full field name (§12.7.3.2).
		return kernel.E(kernel.Invalid, "pdf.error.bad_field_name")
	}
	if o.Appearance != nil {
		return o.Appearance.check()
	}
	return nil
}

// updateBufs are the buffers updates are built in: a fresh one per
// signature, of the placeholder's size, cost more (the new pages' faults
// and clearing) than writing it.
var updateBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledUpdate is the largest update buffer kept for the next one.
const maxPooledUpdate = 1 << 20

// hexZeros is a run of the placeholder's hex digits.
var hexZeros = strings.Repeat("0", 4096)

// update is the incremental update built in memory, with the place of the
// /Contents hex string (from '<' to after '>') relative to its start.
type update struct {
	buf                        []byte
	pooled                     *bytes.Buffer // buf's, for updateBufs
	contentsStart, contentsEnd int
	field                      string
}

// newObject is an object of the update, body already serialised.
type newObject struct {
	ref  Ref
	body []byte
}

func (d *Document) buildUpdate(o SignOptions) (*update, error) {
	cat, err := d.Catalog()
	if err != nil {
		return nil, err
	}
	rootRef, ok := d.trailer["Root"].(Ref)
	if !ok {
		return nil, malformed("/Root is not a reference")
	}
	existing, err := d.Signatures()
	if err != nil {
		return nil, err
	}
	if p, err := d.certification(cat); err != nil {
		return nil, err
	} else if p == 1 {
		// P=1: the certifier allowed no change at all, not even a signature.
		return nil, kernel.E(kernel.Forbidden, "pdf.error.certified_no_changes")
	} else if o.DocMDP != 0 && (p != 0 || len(existing) > 0) {
		return nil, kernel.E(kernel.Conflict, "pdf.error.certify_after_signature")
	}

	var pageRef Ref
	var page Dict
	var geom pageGeometry
	if o.Appearance == nil {
		pageRef, page, err = d.firstPage(cat)
	} else {
		var inh Dict
		pageRef, page, inh, err = d.pageAt(cat, max(o.Appearance.Page, 1))
		geom = d.geometry(page, inh)
	}
	if err != nil {
		return nil, err
	}
	fieldName, err := d.newFieldName(o.FieldName, len(existing))
	if err != nil {
		return nil, err
	}

	next := d.nextObjectNumber()
	fieldRef := Ref{next, 0}
	sigRef := Ref{next + 1, 0}
	next += 2
	var objs []newObject
	put := func(ref Ref, obj Object) {
		var b bytes.Buffer
		writeObject(&b, obj)
		objs = append(objs, newObject{ref, b.Bytes()})
	}

	widget := Dict{
		"Type": Name("Annot"), "Subtype": Name("Widget"), "FT": Name("Sig"),
		"T": textString(fieldName), "V": sigRef, "P": pageRef,
		"Rect": Array{Int(0), Int(0), Int(0), Int(0)}, "F": Int(132), // Print + Locked
	}
	var visible *appearanceObjects
	if o.Appearance != nil {
		alloc := func() Ref { next++; return Ref{next - 1, 0} }
		if visible, err = o.Appearance.build(geom, alloc); err != nil {
			return nil, err
		}
		for k, v := range visible.widget {
			widget[k] = v
		}
	}
	put(fieldRef, widget)

	// The widget goes into its page's /Annots, rewriting the array object
	// when it is indirect and the page otherwise.
	switch a := page["Annots"].(type) {
	case Ref:
		arr, err := d.resolve(a)
		if err != nil {
			return nil, err
		}
		old, _ := arr.(Array)
		put(a, append(append(Array{}, old...), fieldRef))
	default:
		old, _ := a.(Array)
		np := copyDict(page)
		np["Annots"] = append(append(Array{}, old...), fieldRef)
		put(pageRef, np)
	}

	// The form lists the field. An indirect AcroForm gets a new version;
	// an inline one (or none) means a new version of the catalog.
	newCat := Dict(nil)
	afRef, afIsRef := cat["AcroForm"].(Ref)
	af, err := d.resolveDict(cat["AcroForm"])
	if err != nil {
		return nil, err
	}
	naf := copyDict(af)
	fieldsObj, err := d.resolve(af["Fields"])
	if err != nil {
		return nil, err
	}
	oldFields, _ := fieldsObj.(Array)
	naf["Fields"] = append(append(Array{}, oldFields...), fieldRef)
	naf["SigFlags"] = Int(3) // SignaturesExist | AppendOnly
	if afIsRef {
		put(afRef, naf)
	} else {
		newCat = copyDict(cat)
		newCat["AcroForm"] = naf
	}
	if o.DocMDP != 0 {
		if newCat == nil {
			newCat = copyDict(cat)
		}
		newCat["Perms"] = Dict{"DocMDP": sigRef}
	}
	if newCat != nil {
		put(rootRef, newCat)
	}
	if visible != nil {
		objs = append(objs, visible.objs...)
	}

	u := &update{field: fieldName}
	// The buffer is Prepare's again once the update is written out.
	b := updateBufs.Get().(*bytes.Buffer)
	b.Reset()
	b.Grow(2*o.Reserve + 4096)
	u.pooled = b
	if last := d.lastByte(); last != '\n' && last != '\r' {
		b.WriteByte('\n')
	}
	offsets := map[Ref]int64{}
	for _, obj := range objs {
		offsets[obj.ref] = d.size + int64(b.Len())
		fmt.Fprintf(b, "%d %d obj\n", obj.ref.Num, obj.ref.Gen)
		b.Write(obj.body)
		b.WriteString("\nendobj\n")
	}

	// The signature dictionary, written by hand to know where its
	// /ByteRange placeholder and /Contents lie.
	offsets[sigRef] = d.size + int64(b.Len())
	fmt.Fprintf(b, "%d 0 obj\n<<", sigRef.Num)
	sd := Dict{"Filter": Name("Adobe.PPKLite"), "SubFilter": Name(o.SubFilter)}
	// /M on a document time-stamp too: the token holds the real time, but
	// viewers that do not read it (poppler's pdfsig) show /M, and without
	// one they show the epoch.
	if !o.SignTime.IsZero() {
		sd["M"] = String(formatDate(o.SignTime))
	}
	if o.SubFilter == SubFilterRFC3161 {
		sd["Type"] = Name("DocTimeStamp")
	} else {
		sd["Type"] = Name("Sig")
		for k, v := range map[Name]string{"Name": o.Name, "Reason": o.Reason, "Location": o.Location, "ContactInfo": o.ContactInfo} {
			if v != "" {
				sd[k] = textString(v)
			}
		}
	}
	if o.DocMDP != 0 {
		sd["Reference"] = Array{Dict{
			"Type": Name("SigRef"), "TransformMethod": Name("DocMDP"),
			"TransformParams": Dict{"Type": Name("TransformParams"), "P": Int(o.DocMDP), "V": Name("1.2")},
		}}
	}
	for _, k := range sortedKeys(sd) {
		writeName(b, k)
		b.WriteByte(' ')
		writeObject(b, sd[k])
		b.WriteByte('\n')
	}
	b.WriteString("/ByteRange ")
	brAt := b.Len()
	placeholder := "[0 " + strings.Repeat("0", 12) + " " + strings.Repeat("0", 12) + " " + strings.Repeat("0", 12) + "]"
	b.WriteString(placeholder)
	b.WriteString("\n/Contents ")
	u.contentsStart = b.Len()
	b.WriteByte('<')
	// The placeholder is most of the update (b was grown for it): write
	// it from a constant run of zeros rather than making it anew each time.
	for n := 2 * o.Reserve; n > 0; n -= min(n, len(hexZeros)) {
		b.WriteString(hexZeros[:min(n, len(hexZeros))])
	}
	b.WriteByte('>')
	u.contentsEnd = b.Len()
	b.WriteString(">>\nendobj\n")

	if err := d.writeXref(b, offsets, next); err != nil {
		return nil, err
	}
	u.buf = b.Bytes()

	// Patch the placeholder now that the update's length is known; the
	// spaces that pad it are harmless white space inside the array.
	start := d.size + int64(u.contentsStart)
	end := d.size + int64(u.contentsEnd)
	br := fmt.Sprintf("[0 %d %d %d", start, end, d.size+int64(len(u.buf))-end)
	if len(br) >= len(placeholder) {
		return nil, kernel.E(kernel.Invalid, "pdf.error.too_large")
	}
	copy(u.buf[brAt:], br+strings.Repeat(" ", len(placeholder)-len(br)-1)+"]")
	return u, nil
}

// writeXref writes the new cross-reference section and trailer in the
// form of the file's last section, so that readers of either kind follow it.
func (d *Document) writeXref(b *bytes.Buffer, offsets map[Ref]int64, next int) error {
	// The trailer keeps every entry of the previous one but /Prev
	// (ISO 32000-1 §7.5.6), less those that only describe that section.
	tr := Dict{}
	for k, v := range d.trailer {
		switch k {
		case "Prev", "XRefStm", "Type", "W", "Index", "Filter", "DecodeParms", "Length", "F", "FFilter", "FDecodeParms", "DL":
			continue
		}
		tr[k] = v
	}
	tr["Prev"] = Int(d.sections[0].off)

	if !d.sections[0].stream {
		tr["Size"] = Int(next)
		xrefAt := d.size + int64(b.Len())
		b.WriteString("xref\n")
		refs := sortedRefs(offsets)
		for i := 0; i < len(refs); {
			j := i + 1
			for j < len(refs) && refs[j].Num == refs[j-1].Num+1 {
				j++
			}
			fmt.Fprintf(b, "%d %d\n", refs[i].Num, j-i)
			for _, r := range refs[i:j] {
				fmt.Fprintf(b, "%010d %05d n\r\n", offsets[r], r.Gen) // exactly 20 bytes
			}
			i = j
		}
		b.WriteString("trailer\n")
		writeDict(b, tr)
		fmt.Fprintf(b, "\nstartxref\n%d\n%%%%EOF\n", xrefAt)
		return nil
	}

	// A cross-reference stream lists itself too.
	self := Ref{next, 0}
	xrefAt := d.size + int64(b.Len())
	offsets[self] = xrefAt
	refs := sortedRefs(offsets)
	ow := 1
	for v := xrefAt; v > 0xff; v >>= 8 {
		ow++
	}
	var rows bytes.Buffer
	var index Array
	for i := 0; i < len(refs); {
		j := i + 1
		for j < len(refs) && refs[j].Num == refs[j-1].Num+1 {
			j++
		}
		index = append(index, Int(refs[i].Num), Int(j-i))
		for _, r := range refs[i:j] {
			rows.WriteByte(1)
			off := offsets[r]
			for k := ow - 1; k >= 0; k-- {
				rows.WriteByte(byte(off >> (8 * k)))
			}
			rows.WriteByte(byte(r.Gen >> 8))
			rows.WriteByte(byte(r.Gen))
		}
		i = j
	}
	var z bytes.Buffer
	zw := zlibWriters.Get().(*zlib.Writer)
	defer zlibWriters.Put(zw)
	zw.Reset(&z)
	zw.Write(rows.Bytes())
	if err := zw.Close(); err != nil {
		return kernel.Wrap(err, "pdf: compress xref")
	}
	tr["Type"] = Name("XRef")
	tr["Size"] = Int(next + 1)
	tr["W"] = Array{Int(1), Int(ow), Int(2)}
	tr["Index"] = index
	tr["Filter"] = Name("FlateDecode")
	tr["Length"] = Int(z.Len())
	fmt.Fprintf(b, "%d 0 obj\n", self.Num)
	writeDict(b, tr)
	b.WriteString("\nstream\n")
	b.Write(z.Bytes())
	fmt.Fprintf(b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xrefAt)
	return nil
}

func sortedRefs(m map[Ref]int64) []Ref {
	refs := make([]Ref, 0, len(m))
	for r := range m {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Num < refs[j].Num })
	return refs
}

func sortedKeys(d Dict) []Name {
	keys := make([]Name, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

func (d *Document) lastByte() byte {
	var c [1]byte
	d.r.ReadAt(c[:], d.size-1)
	return c[0]
}

// nextObjectNumber is the first number free for new objects: the trailer's
// /Size, or more if the table (wrongly) lists objects beyond it.
func (d *Document) nextObjectNumber() int {
	n := 1
	if s, ok := d.trailer.Int("Size"); ok && s > 0 && s <= maxObjectNum {
		n = int(s)
	}
	for num := range d.xref {
		if num >= n {
			n = num + 1
		}
	}
	return n
}

// certification returns P of the document's certification signature (the
// catalog's /Perms /DocMDP), or 0 when the document is not certified.
func (d *Document) certification(cat Dict) (int, error) {
	perms, err := d.resolveDict(cat["Perms"])
	if err != nil || perms == nil {
		return 0, err
	}
	sig, err := d.resolveDict(perms["DocMDP"])
	if err != nil || sig == nil {
		return 0, err
	}
	if p := d.docMDP(sig); p != 0 {
		return p, nil
	}
	return 2, nil
}

// firstPage walks the page tree down its first branch.
func (d *Document) firstPage(cat Dict) (Ref, Dict, error) {
	node := cat["Pages"]
	seen := map[Ref]bool{}
	for depth := 0; depth < maxDepth; depth++ {
		ref, ok := node.(Ref)
		if !ok || seen[ref] {
			break
		}
		seen[ref] = true
		n, err := d.resolveDict(ref)
		if err != nil {
			return Ref{}, nil, err
		}
		if n == nil {
			break
		}
		kids, err := d.resolve(n["Kids"])
		if err != nil {
			return Ref{}, nil, err
		}
		karr, _ := kids.(Array)
		if n.Name("Type") == "Page" || (n.Name("Type") != "Pages" && len(karr) == 0) {
			return ref, n, nil
		}
		if len(karr) == 0 {
			break
		}
		node = karr[0]
	}
	return Ref{}, nil, kernel.E(kernel.Invalid, "pdf.error.no_pages")
}

// newFieldName returns the requested name if it is free, or the first free
// "Signature<N>" counting from the number of signatures plus one.
func (d *Document) newFieldName(want string, signed int) (string, error) {
	fields, err := d.fields()
	if err != nil {
		return "", err
	}
	taken := map[string]bool{}
	for _, f := range fields {
		taken[f.name] = true
		// Names of intermediate fields are taken too.
		for i := strings.IndexByte(f.name, '.'); i >= 0; {
			taken[f.name[:i]] = true
			j := strings.IndexByte(f.name[i+1:], '.')
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	if want != "" {
		if taken[want] {
			return "", kernel.E(kernel.Conflict, "pdf.error.field_exists")
		}
		return want, nil
	}
	for n := signed + 1; ; n++ {
		if name := fmt.Sprintf("Signature%d", n); !taken[name] {
			return name, nil
		}
	}
}
