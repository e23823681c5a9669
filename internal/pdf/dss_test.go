package pdf_test

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"civitas/internal/pdf"
)

// TestPrepareEmbed: Prepare, a JSON round trip of Prepared (as a service
// stores it while the holder approves), then Embed, gives the file Sign
// gives; InPlace appends to a file that already holds the input.
func TestPrepareEmbed(t *testing.T) {
	in := testPDF(2, 0)
	o := pdf.SignOptions{Name: "Nguyễn Thị Ánh"}
	want, digest, err := signMem(t, in, o)
	if err != nil {
		t.Fatal(err)
	}
	var m memFile
	p, err := pdf.Prepare(&m, bytes.NewReader(in), int64(len(in)), o)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(p)
	var back pdf.Prepared
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Digest, digest) || back.Field != "Signature1" || back.Size != int64(len(m.b)) || back.ByteRange[2]+back.ByteRange[3] != back.Size {
		t.Fatalf("prepared %+v", back)
	}
	if err := back.Embed(&m, fakeCMS(300)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.b, want) {
		t.Fatal("Prepare+Embed differs from Sign")
	}
	if err := back.Embed(&m, fakeCMS(back.Reserve)); err == nil {
		t.Fatal("Embed accepted a signature larger than the reserve")
	}

	inPlace := memFile{b: bytes.Clone(in)}
	p2, err := pdf.Prepare(&inPlace, bytes.NewReader(in), int64(len(in)), pdf.SignOptions{Name: "Nguyễn Thị Ánh", InPlace: true})
	if err != nil || !bytes.Equal(p2.Digest, digest) {
		t.Fatalf("in place: %v", err)
	}
	if err := p2.Embed(&inPlace, fakeCMS(300)); err != nil || !bytes.Equal(inPlace.b, want) {
		t.Fatalf("in place: %v", err)
	}
}

// TestAddDSS: a DSS after signatures on every corpus file keeps them valid
// for poppler, reads back, is extended rather than replaced, and is an
// allowed change.
func TestAddDSS(t *testing.T) {
	needTool(t, "openssl", "qpdf", "pdfsig")
	pki := newTestPKI(t)
	nss := pki.nssDB(t)
	dir := t.TempDir()
	files := corpus(t, dir)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	caPEM, _ := os.ReadFile(pki.ca)
	block, _ := pem.Decode(caPEM)
	ocsp1, ocsp2, crl := fakeCMS(100), fakeCMS(120), fakeCMS(140) // DER-shaped; the DSS does not parse them
	for _, name := range names {
		t.Run("ok/"+name, func(t *testing.T) {
			signed := filepath.Join(dir, name+"-s.pdf")
			pki.signFile(t, 0, files[name], signed, pdf.SignOptions{Name: "A"})
			signed2 := filepath.Join(dir, name+"-s2.pdf")
			pki.signFile(t, 1, signed, signed2, pdf.SignOptions{Name: "B"})

			step := func(in, out string, dss pdf.DSS) *pdf.Document {
				src, _ := os.Open(in)
				defer src.Close()
				dst, _ := os.Create(out)
				defer dst.Close()
				n, err := pdf.AddDSS(dst, src, size(t, in), dss)
				if err != nil {
					t.Fatal(err)
				}
				if n != size(t, out) {
					t.Fatalf("AddDSS says %d bytes, file has %d", n, size(t, out))
				}
				if o, err := exec.Command("qpdf", "--check", out).CombinedOutput(); err != nil || !strings.Contains(string(o), "No syntax or stream encoding errors") {
					t.Fatalf("qpdf --check: %v\n%s", err, o)
				}
				blocks := pdfsig(t, nss, out)
				if len(blocks) != 2 {
					t.Fatalf("pdfsig: %d signatures", len(blocks))
				}
				for i, b := range blocks {
					if !strings.Contains(b, "Signature is Valid.") || !strings.Contains(b, "Certificate is Trusted.") {
						t.Errorf("signature %d after DSS:\n%s", i+1, b)
					}
				}
				return openFile(t, out)
			}
			withDSS := filepath.Join(dir, name+"-dss.pdf")
			d := step(signed2, withDSS, pdf.DSS{Certs: [][]byte{block.Bytes}, VRI: map[string]pdf.VRI{"Signature1": {Certs: [][]byte{block.Bytes}, OCSPs: [][]byte{ocsp1}}}})
			sigs, _ := d.Signatures()
			got, err := d.DSS()
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Certs) != 1 || !bytes.Equal(got.Certs[0], block.Bytes) || len(got.OCSPs) != 1 || len(got.VRI) != 1 {
				t.Fatalf("DSS read back: %d certs, %d OCSPs, %d VRI", len(got.Certs), len(got.OCSPs), len(got.VRI))
			}
			if v, ok := got.VRI[sigs[0].VRIKey]; !ok || len(v.Certs) != 1 || !bytes.Equal(v.OCSPs[0], ocsp1) {
				t.Fatalf("VRI of Signature1 (%s): %+v", sigs[0].VRIKey, got.VRI)
			}
			changes, err := d.ChangesSince(sigs[1].Revision)
			if err != nil || len(changes) == 0 {
				t.Fatalf("changes: %v", err)
			}
			for _, c := range changes {
				if !c.Allowed {
					t.Errorf("DSS update judged not allowed: %+v", c)
				}
			}

			// A second DSS extends the first: nothing lost, nothing stored twice.
			again := filepath.Join(dir, name+"-dss2.pdf")
			d = step(withDSS, again, pdf.DSS{Certs: [][]byte{block.Bytes}, OCSPs: [][]byte{ocsp2}, CRLs: [][]byte{crl},
				VRI: map[string]pdf.VRI{"Signature2": {OCSPs: [][]byte{ocsp2}}}})
			got, _ = d.DSS()
			if len(got.Certs) != 1 || len(got.OCSPs) != 2 || len(got.CRLs) != 1 || len(got.VRI) != 2 {
				t.Fatalf("extended DSS: %d certs, %d OCSPs, %d CRLs, %d VRI", len(got.Certs), len(got.OCSPs), len(got.CRLs), len(got.VRI))
			}
			for _, s := range sigs {
				changes, _ := d.ChangesSince(s.Revision)
				for _, c := range changes {
					if !c.Allowed {
						t.Errorf("after %s: %+v not allowed", s.Field, c)
					}
				}
			}
		})
	}
	t.Run("fail/unknown_field", func(t *testing.T) {
		in := testPDF(1, 0)
		if _, err := pdf.AddDSS(&memFile{}, bytes.NewReader(in), int64(len(in)), pdf.DSS{VRI: map[string]pdf.VRI{"Nope": {}}}); err == nil {
			t.Fatal("VRI for a missing signature accepted")
		}
	})
}
