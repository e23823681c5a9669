package pdf

import (
	"bytes"
	"io"
	"sort"
)

// Change is one object that the updates after a revision added, replaced or
// deleted.
type Change struct {
	Ref  Ref
	Kind string // "new", "replaced" or "deleted"
	// Allowed says the change is one that signing later may make: a new
	// object (it matters only if an old object comes to use it, and that
	// old object is then a change too), a signature field and its widget
	// added to the form and a page, an empty signature field signed, the
	// DSS, the catalog for these, or the document information dictionary.
	Allowed bool
	What    string // for logs: what the object was taken for
}

// ChangesSince lists the objects that the updates after revision (a byte
// offset just after a %%EOF, such as Signature.Revision) added, replaced or
// deleted, in object-number order, each judged allowed or not. It is how a
// validator tells a later signature from a changed page.
func (d *Document) ChangesSince(revision int64) ([]Change, error) {
	if revision >= d.size {
		return nil, nil
	}
	old, err := Open(io.NewSectionReader(d.r, 0, revision), revision)
	if err != nil {
		return nil, err
	}
	j := judge{old: old, new: d, dss: map[Ref]bool{}}
	if err := j.init(); err != nil {
		return nil, err
	}
	nums := make([]int, 0, len(d.xref))
	for n := range d.xref {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	var out []Change
	for _, n := range nums {
		if n == 0 {
			continue
		}
		e := d.xref[n]
		oe, had := old.xref[n]
		if had && oe == e {
			continue
		}
		ref := Ref{n, e.gen}
		if e.kind == entryCompressed {
			ref.Gen = 0
		}
		switch {
		case e.kind == entryFree:
			if had && oe.kind != entryFree {
				out = append(out, Change{Ref: Ref{n, oe.gen}, Kind: "deleted", What: "deleted object"})
			}
		case !had || oe.kind == entryFree:
			out = append(out, Change{Ref: ref, Kind: "new", Allowed: true, What: "new object"})
		default:
			ok, what, err := j.replaced(ref)
			if err != nil {
				return nil, err
			}
			out = append(out, Change{Ref: ref, Kind: "replaced", Allowed: ok, What: what})
		}
	}
	return out, nil
}

// judge compares the old and new versions of replaced objects.
type judge struct {
	old, new           *Document
	root, info         Ref
	acroForm, fieldArr Ref
	dss                map[Ref]bool // the old DSS and its indirect parts
}

func (j *judge) init() error {
	j.root, _ = j.old.trailer["Root"].(Ref)
	j.info, _ = j.old.trailer["Info"].(Ref)
	cat, err := j.old.Catalog()
	if err != nil {
		return err
	}
	j.acroForm, _ = cat["AcroForm"].(Ref)
	if af, err := j.old.resolveDict(cat["AcroForm"]); err == nil && af != nil {
		j.fieldArr, _ = af["Fields"].(Ref)
	}
	if r, ok := cat["DSS"].(Ref); ok {
		j.dss[r] = true
	}
	dd, err := j.old.resolveDict(cat["DSS"])
	if err != nil || dd == nil {
		return nil
	}
	for _, k := range []Name{"Certs", "OCSPs", "CRLs", "VRI"} {
		if r, ok := dd[k].(Ref); ok {
			j.dss[r] = true
		}
	}
	if vri, err := j.old.resolveDict(dd["VRI"]); err == nil {
		for _, v := range vri {
			if r, ok := v.(Ref); ok {
				j.dss[r] = true
			}
		}
	}
	return nil
}

func (j *judge) replaced(ref Ref) (bool, string, error) {
	if j.dss[ref] {
		return true, "dss", nil
	}
	if ref == j.info {
		return true, "document information", nil
	}
	ov, err := j.old.Object(ref)
	if err != nil {
		return false, "", err
	}
	nv, err := j.new.Object(ref)
	if err != nil {
		return false, "", err
	}
	if same(ov, nv) {
		return true, "unchanged", nil
	}
	switch o := ov.(type) {
	case Array:
		n, ok := nv.(Array)
		return ok && j.appendedSignatures(o, n), "array", nil
	case Dict:
		n, ok := nv.(Dict)
		if !ok {
			return false, "dictionary", nil
		}
		switch {
		case ref == j.root:
			return j.catalogOK(o, n), "catalog", nil
		case ref == j.acroForm:
			return j.acroFormOK(o, n), "form", nil
		case o.Name("Type") == "Page":
			return j.pageOK(o, n), "page", nil
		case j.old.isSigField(o):
			// Signing an empty field: only its value and appearance change.
			_, signed := o["V"]
			return !signed && onlyKeys(o, n, "V", "AP", "AS"), "signature field", nil
		}
		return false, "dictionary", nil
	}
	return false, "object", nil
}

// catalogOK: only the form, the DSS and the extensions may change.
func (j *judge) catalogOK(o, n Dict) bool {
	if !onlyKeys(o, n, "AcroForm", "DSS", "Extensions") {
		return false
	}
	if _, ok := o["AcroForm"].(Ref); ok {
		return same(o["AcroForm"], n["AcroForm"])
	}
	oaf, err1 := j.old.resolveDict(o["AcroForm"])
	naf, err2 := j.new.resolveDict(n["AcroForm"])
	return err1 == nil && err2 == nil && j.acroFormOK(oaf, naf)
}

// acroFormOK: fields may be added (signature fields only) and the flags set.
func (j *judge) acroFormOK(o, n Dict) bool {
	if !onlyKeys(o, n, "Fields", "SigFlags", "DR", "DA") {
		return false
	}
	if same(o["Fields"], n["Fields"]) {
		return true
	}
	if _, ok := o["Fields"].(Ref); ok {
		return false // the array object itself changes, judged on its own
	}
	of, err1 := j.old.resolve(o["Fields"])
	nf, err2 := j.new.resolve(n["Fields"])
	oa, _ := of.(Array)
	na, ok := nf.(Array)
	return err1 == nil && err2 == nil && ok && j.appendedSignatures(oa, na)
}

// pageOK: only the annotations may change, by signature widgets added.
func (j *judge) pageOK(o, n Dict) bool {
	if !onlyKeys(o, n, "Annots") {
		return false
	}
	if _, ok := o["Annots"].(Ref); ok {
		return false
	}
	oa, err1 := j.old.resolve(o["Annots"])
	na, err2 := j.new.resolve(n["Annots"])
	a, _ := oa.(Array)
	b, ok := na.(Array)
	return err1 == nil && err2 == nil && ok && j.appendedSignatures(a, b)
}

// appendedSignatures: n is o with signature fields or widgets appended.
func (j *judge) appendedSignatures(o, n Array) bool {
	if len(n) < len(o) {
		return false
	}
	for i := range o {
		if !same(o[i], n[i]) {
			return false
		}
	}
	for _, e := range n[len(o):] {
		f, err := j.new.resolveDict(e)
		if err != nil || f == nil || !j.new.isSigField(f) {
			return false
		}
	}
	return true
}

// isSigField says f is a signature field, or the widget of one.
func (d *Document) isSigField(f Dict) bool {
	if f.Name("FT") == "Sig" {
		return true
	}
	if f.Name("Subtype") != "Widget" {
		return false
	}
	p, err := d.resolveDict(f["Parent"])
	return err == nil && p != nil && p.Name("FT") == "Sig"
}

// onlyKeys says o and n differ at most in the keys given.
func onlyKeys(o, n Dict, keys ...Name) bool {
	free := map[Name]bool{}
	for _, k := range keys {
		free[k] = true
	}
	for k, v := range o {
		if !free[k] && !same(v, n[k]) {
			return false
		}
	}
	for k := range n {
		if _, ok := o[k]; !ok && !free[k] {
			return false
		}
	}
	return true
}

// same compares two direct objects by their serialisation (dictionary keys
// sorted); streams compare by their place in the file.
func same(a, b Object) bool {
	if sa, ok := a.(*Stream); ok {
		sb, ok := b.(*Stream)
		return ok && sa.Offset == sb.Offset && sa.Length == sb.Length && same(sa.Dict, sb.Dict)
	}
	if _, ok := b.(*Stream); ok {
		return false
	}
	var x, y bytes.Buffer
	writeObject(&x, a)
	writeObject(&y, b)
	return bytes.Equal(x.Bytes(), y.Bytes())
}
