package wallet_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"civitas/internal/pades"
	"civitas/internal/registry"
	"civitas/internal/wallet"
)

// download GETs path as the client and returns the status, headers and body.
func (c *pageClient) download(path string) (int, http.Header, []byte) {
	c.t.Helper()
	resp, err := c.c.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// TestPDFPages: the details page offers the sealed PDF; GET
// /wallet/{id}/pdf sends it to the holder and their guardian as an
// attachment nobody caches, the same file every time; strangers, unknown
// documents and other files are 404, a revoked document 409.
func TestPDFPages(t *testing.T) {
	s, _ := newPDFSite(t, true)
	pp := s.people()
	parentAcct, otherAcct := s.account(pp.parent.CitizenID), s.account(pp.other.CitizenID)
	if err := s.id.AddDependent(s.ctx, parentAcct.ID, pp.child.CitizenID); err != nil {
		t.Fatal(err)
	}
	insurance := s.agency(registry.SocialInsurance)
	agency, err := s.reg.Agency(s.ctx, insurance)
	if err != nil {
		t.Fatal(err)
	}
	health, err := s.w.Issue(s.ctx, wallet.Issuance{Agency: insurance, Type: "health_insurance_card",
		Holder: wallet.Holder{Kind: wallet.HolderPerson, ID: pp.parent.CitizenID}, Claims: healthCard(pp.parent)})
	if err != nil {
		t.Fatal(err)
	}
	childCard, err := s.w.Issue(s.ctx, wallet.Issuance{Agency: s.agency(registry.Police), Type: "citizen_id_card",
		Holder: wallet.Holder{Kind: wallet.HolderPerson, ID: pp.child.CitizenID}})
	if err != nil {
		t.Fatal(err)
	}
	holder, other, anon := s.client(parentAcct.ID), s.client(otherAcct.ID), s.client("")
	link := `href="/wallet/` + health.ID + `/pdf"`

	runSteps(t, []pageStep{
		{name: "ok/the details page offers the PDF sealed by the agency", who: holder, path: "/wallet/" + health.ID, status: http.StatusOK,
			has: []string{link, "Tải bản PDF có dấu của " + agency.Name, `href="/verify"`}},
		{name: "ok/in English", who: s.client(parentAcct.ID), path: "/wallet/" + health.ID + "?lang=en", status: http.StatusOK,
			has: []string{"Download PDF sealed by " + agency.Name}},
		{name: "fail/anonymous is sent to log in", who: anon, path: "/wallet/" + health.ID + "/pdf", status: http.StatusSeeOther, has: []string{"/login"}},
		{name: "fail/another citizen", who: other, path: "/wallet/" + health.ID + "/pdf", status: http.StatusNotFound, lacks: []string{"%PDF", "DN4797912345678"}},
		{name: "fail/no such document", who: holder, path: "/wallet/nosuchdocument/pdf", status: http.StatusNotFound},
		{name: "fail/another file of the document", who: holder, path: "/wallet/" + health.ID + "/credential", status: http.StatusNotFound},
	})

	var first []byte
	t.Run("ok/the holder downloads it", func(t *testing.T) {
		st, h, b := holder.download("/wallet/" + health.ID + "/pdf")
		if st != http.StatusOK || h.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(b, []byte("%PDF-")) {
			t.Fatalf("%d %s: %.200q", st, h.Get("Content-Type"), b)
		}
		if want := `attachment; filename="health_insurance_card-` + health.ID + `.pdf"`; h.Get("Content-Disposition") != want {
			t.Errorf("Content-Disposition %q, want %q", h.Get("Content-Disposition"), want)
		}
		if cc := h.Get("Cache-Control"); !strings.Contains(cc, "private") || !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control %q", cc)
		}
		if rep := s.validatePDF(b); rep.Verdict != pades.Passed || rep.Signatures[0].Level != pades.LevelBT {
			t.Fatalf("verdict %s: %+v", rep.Verdict, rep.Signatures)
		}
		first = b
	})
	t.Run("ok/the second download is the same file", func(t *testing.T) {
		st, _, b := holder.download("/wallet/" + health.ID + "/pdf")
		if st != http.StatusOK || !bytes.Equal(b, first) {
			t.Fatalf("%d, same bytes: %v", st, bytes.Equal(b, first))
		}
	})
	t.Run("ok/the guardian downloads the child's", func(t *testing.T) {
		st, h, b := holder.download("/wallet/" + childCard.ID + "/pdf")
		if st != http.StatusOK || h.Get("Content-Type") != "application/pdf" {
			t.Fatalf("%d %s", st, h.Get("Content-Type"))
		}
		pdfTool(t, "pdftotext")
		if text := pdfText(t, writeTemp(t, "child.pdf", b)); !strings.Contains(text, pp.child.FullName+" ("+pp.child.CitizenID+")") {
			t.Errorf("pdftotext lacks the child:\n%s", text)
		}
	})
	if err := s.w.SetStatus(s.ctx, insurance, health.ID, wallet.StatusRevoked, "withdrawn"); err != nil {
		t.Fatal(err)
	}
	runSteps(t, []pageStep{
		{name: "fail/revoked: refused, and saying why", who: holder, path: "/wallet/" + health.ID + "/pdf", status: http.StatusConflict,
			has: []string{"đã bị thu hồi"}, lacks: []string{"%PDF"}},
		{name: "ok/revoked: no link", who: holder, path: "/wallet/" + health.ID, status: http.StatusOK, lacks: []string{link}},
	})
}

// TestPDFPagesOff: without a sealer, no link, and the route is 404.
func TestPDFPagesOff(t *testing.T) {
	s, _ := newPDFSite(t, false)
	p := s.person(0)
	doc, err := s.w.Issue(s.ctx, wallet.Issuance{Agency: s.agency(registry.SocialInsurance), Type: "health_insurance_card",
		Holder: wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}, Claims: healthCard(p)})
	if err != nil {
		t.Fatal(err)
	}
	holder := s.client(s.account(p.CitizenID).ID)
	runSteps(t, []pageStep{
		{name: "ok/no link", who: holder, path: "/wallet/" + doc.ID, status: http.StatusOK, has: []string{"DN4797912345678"}, lacks: []string{"/pdf", "Tải bản PDF"}},
		{name: "fail/the route is 404", who: holder, path: "/wallet/" + doc.ID + "/pdf", status: http.StatusNotFound, lacks: []string{"%PDF"}},
	})
}
