package pdf

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"

	"civitas/internal/kernel"
)

// maxDSSItems bounds the entries read from a DSS array: a real one holds a
// few dozen, and a hostile file must not make us decode millions.
const maxDSSItems = 4096

// DSS is validation data for the Document Security Store (ISO 32000-2
// §12.8.4.3, ETSI EN 319 142-1 §5.4): certificates, OCSP responses and CRLs,
// all DER.
type DSS struct {
	Certs, OCSPs, CRLs [][]byte
	// VRI says, per signature field name, which of the data validate that
	// signature. Its items need not be repeated in Certs, OCSPs and CRLs:
	// every item is stored once and listed in both places.
	VRI map[string]VRI
	// InPlace says that w is the file r reads: only the update is written.
	InPlace bool
}

// VRI is the validation data of one signature.
type VRI struct {
	Certs, OCSPs, CRLs [][]byte
}

// VRIKey is the key of a signature's /VRI entry: the uppercase hex SHA-1 of
// the bytes of its /Contents string, zero padding included, as ISO 32000-2
// §12.8.4.4 and the tools that write VRI (iText, Acrobat) hash it.
func VRIKey(rawContents []byte) string {
	sum := sha1.Sum(rawContents)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// AddDSS writes to w the file read from r (size bytes), unchanged unless
// dss.InPlace says w already holds it, and one incremental update that adds
// the catalog's /DSS or extends the one there: entries already present are
// kept, and data already stored are not stored again. It returns the size
// of the new file. The update changes only the catalog (or the DSS
// dictionary) and adds streams, so earlier signatures stay valid: a DSS is
// one of the changes PAdES allows after signing.
func AddDSS(w io.WriterAt, r io.ReaderAt, size int64, dss DSS) (int64, error) {
	d, err := Open(r, size)
	if err != nil {
		return 0, err
	}
	upd, err := d.buildDSSUpdate(dss)
	if err != nil {
		return 0, err
	}
	if !dss.InPlace {
		buf := make([]byte, copyChunk)
		if _, err := io.CopyBuffer(io.NewOffsetWriter(w, 0), io.NewSectionReader(r, 0, size), buf); err != nil {
			return 0, kernel.Wrap(err, "pdf: copy input")
		}
	}
	if _, err := w.WriteAt(upd, size); err != nil {
		return 0, kernel.Wrap(err, "pdf: write update")
	}
	return size + int64(len(upd)), nil
}

func (d *Document) buildDSSUpdate(dss DSS) ([]byte, error) {
	cat, err := d.Catalog()
	if err != nil {
		return nil, err
	}
	rootRef, ok := d.trailer["Root"].(Ref)
	if !ok {
		return nil, malformed("/Root is not a reference")
	}
	old, err := d.resolveDict(cat["DSS"])
	if err != nil {
		return nil, err
	}
	sigs, err := d.Signatures()
	if err != nil {
		return nil, err
	}
	keyOf := map[string]string{}
	for _, s := range sigs {
		keyOf[s.Field] = s.VRIKey
	}

	next := d.nextObjectNumber()
	var b bytes.Buffer
	if last := d.lastByte(); last != '\n' && last != '\r' {
		b.WriteByte('\n')
	}
	offsets := map[Ref]int64{}

	// stored maps the SHA-256 of each datum to its stream, so that a datum
	// is written once however often it is listed; the existing DSS's
	// streams are read to find what is there already.
	stored := map[[32]byte]Ref{}
	lists := map[Name]Array{}
	for _, k := range []Name{"Certs", "OCSPs", "CRLs"} {
		arr, err := d.resolve(old[k])
		if err != nil {
			return nil, err
		}
		a, _ := arr.(Array)
		if len(a) > maxDSSItems {
			return nil, malformed("/DSS /%s has %d entries", k, len(a))
		}
		for _, o := range a {
			ref, ok := o.(Ref)
			if !ok {
				continue
			}
			if data, err := d.refData(ref); err == nil {
				stored[sha256.Sum256(data)] = ref
			}
		}
		lists[k] = append(Array{}, a...)
	}
	inList := map[Ref]bool{}
	for _, a := range lists {
		for _, o := range a {
			if r, ok := o.(Ref); ok {
				inList[r] = true
			}
		}
	}
	store := func(list Name, data []byte) Ref {
		sum := sha256.Sum256(data)
		ref, ok := stored[sum]
		if !ok {
			ref = Ref{next, 0}
			next++
			offsets[ref] = d.size + int64(b.Len())
			fmt.Fprintf(&b, "%d 0 obj\n<</Length %d>>\nstream\n", ref.Num, len(data))
			b.Write(data)
			b.WriteString("\nendstream\nendobj\n")
			stored[sum] = ref
		}
		if !inList[ref] {
			lists[list] = append(lists[list], ref)
			inList[ref] = true
		}
		return ref
	}
	for _, c := range dss.Certs {
		store("Certs", c)
	}
	for _, c := range dss.OCSPs {
		store("OCSPs", c)
	}
	for _, c := range dss.CRLs {
		store("CRLs", c)
	}

	vri := Dict{}
	if ov, err := d.resolveDict(old["VRI"]); err != nil {
		return nil, err
	} else {
		for k, v := range ov {
			vri[k] = v
		}
	}
	fields := make([]string, 0, len(dss.VRI))
	for f := range dss.VRI {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		key, ok := keyOf[f]
		if !ok {
			return nil, kernel.E(kernel.Invalid, "pdf.error.no_such_signature")
		}
		v := dss.VRI[f]
		e := Dict{"Type": Name("VRI")}
		for _, part := range []struct {
			list, name Name
			items      [][]byte
		}{{"Certs", "Cert", v.Certs}, {"OCSPs", "OCSP", v.OCSPs}, {"CRLs", "CRL", v.CRLs}} {
			var refs Array
			for _, item := range part.items {
				refs = append(refs, store(part.list, item))
			}
			if len(refs) > 0 {
				e[part.name] = refs
			}
		}
		vri[Name(key)] = e
	}

	nd := copyDict(old)
	if nd == nil {
		nd = Dict{}
	}
	nd["Type"] = Name("DSS")
	for k, a := range lists {
		if len(a) > 0 {
			nd[k] = a
		}
	}
	if len(vri) > 0 {
		nd["VRI"] = vri
	}
	// An indirect DSS gets a new version; otherwise the DSS becomes a new
	// object and the catalog a new version that points to it.
	dssRef, isRef := cat["DSS"].(Ref)
	if !isRef {
		dssRef = Ref{next, 0}
		next++
		nc := copyDict(cat)
		nc["DSS"] = dssRef
		addExtension(nc)
		offsets[rootRef] = d.size + int64(b.Len())
		fmt.Fprintf(&b, "%d %d obj\n", rootRef.Num, rootRef.Gen)
		writeDict(&b, nc)
		b.WriteString("\nendobj\n")
	}
	offsets[dssRef] = d.size + int64(b.Len())
	fmt.Fprintf(&b, "%d %d obj\n", dssRef.Num, dssRef.Gen)
	writeDict(&b, nd)
	b.WriteString("\nendobj\n")

	if err := d.writeXref(&b, offsets, next); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// addExtension declares the ETSI extension level that brings the DSS
// (ETSI EN 319 142-1 §5.4.1), for readers of PDF 1.7 files. An existing
// declaration, even a different one, is left alone.
func addExtension(cat Dict) {
	ext, ok := cat["Extensions"].(Dict)
	if !ok {
		if _, present := cat["Extensions"]; present {
			return // indirect: not worth a rewrite
		}
		ext = Dict{}
	}
	if _, ok := ext["ESIC"]; ok {
		return
	}
	ne := copyDict(ext)
	ne["ESIC"] = Dict{"BaseVersion": Name("1.7"), "ExtensionLevel": Int(1)}
	cat["Extensions"] = ne
}

// refData reads and decodes the stream ref points to.
func (d *Document) refData(ref Ref) ([]byte, error) {
	o, err := d.Object(ref)
	if err != nil {
		return nil, err
	}
	s, ok := o.(*Stream)
	if !ok {
		return nil, malformed("object %d is not a stream", ref.Num)
	}
	return d.decodedStream(s)
}

// StoredDSS is the validation data a document's DSS holds.
type StoredDSS struct {
	Certs, OCSPs, CRLs [][]byte
	// VRI maps a VRI key (see VRIKey) to that signature's data.
	VRI map[string]VRI
}

// DSS reads the catalog's /DSS. A document without one gives an empty
// StoredDSS; entries that are not streams, or do not decode, are skipped.
func (d *Document) DSS() (*StoredDSS, error) {
	cat, err := d.Catalog()
	if err != nil {
		return nil, err
	}
	dd, err := d.resolveDict(cat["DSS"])
	if err != nil {
		return nil, err
	}
	out := &StoredDSS{VRI: map[string]VRI{}}
	list := func(o Object) ([][]byte, error) {
		arr, err := d.resolve(o)
		if err != nil {
			return nil, err
		}
		a, _ := arr.(Array)
		if len(a) > maxDSSItems {
			return nil, malformed("%d entries in a DSS array", len(a))
		}
		var items [][]byte
		for _, e := range a {
			if ref, ok := e.(Ref); ok {
				if data, err := d.refData(ref); err == nil {
					items = append(items, data)
				}
			}
		}
		return items, nil
	}
	if out.Certs, err = list(dd["Certs"]); err != nil {
		return nil, err
	}
	if out.OCSPs, err = list(dd["OCSPs"]); err != nil {
		return nil, err
	}
	if out.CRLs, err = list(dd["CRLs"]); err != nil {
		return nil, err
	}
	vri, err := d.resolveDict(dd["VRI"])
	if err != nil {
		return nil, err
	}
	if len(vri) > maxDSSItems {
		return nil, malformed("%d VRI entries", len(vri))
	}
	for k, v := range vri {
		e, err := d.resolveDict(v)
		if err != nil || e == nil {
			continue
		}
		var item VRI
		var errs [3]error
		item.Certs, errs[0] = list(e["Cert"])
		item.OCSPs, errs[1] = list(e["OCSP"])
		item.CRLs, errs[2] = list(e["CRL"])
		if errs[0] != nil || errs[1] != nil || errs[2] != nil {
			continue
		}
		out.VRI[string(k)] = item
	}
	return out, nil
}
