package edoc

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

func TestSymbol(t *testing.T) {
	for _, tt := range []struct {
		n      int64
		typ    DocType
		agency string
		unit   string
		want   string
	}{
		{123, "QĐ", "X001.UBND", "VP", "123/QĐ-UBND"},
		{7, "TTr", "H01.UBND", "VP", "7/TTr-UBND"},
		{123, OfficialLetter, "X001.UBND", "VP", "123/UBND-VP"},
		{45, OfficialLetter, "T.STP", "HCTP", "45/STP-HCTP"},
	} {
		if got := Symbol(tt.n, tt.typ, tt.agency, tt.unit); got != tt.want {
			t.Errorf("Symbol(%d, %s, %s) = %q, want %q", tt.n, tt.typ, tt.agency, got, tt.want)
		}
	}
	for _, in := range []string{"QĐ", "qđ", "TTr", "ttr", "CV", "KH", "BC", "TB"} {
		if _, err := ParseDocType(in); err != nil {
			t.Errorf("ParseDocType(%q): %v", in, err)
		}
	}
	if _, err := ParseDocType("XYZ"); kernel.ErrorCode(err) != kernel.Invalid {
		t.Errorf("ParseDocType(XYZ): %v", err)
	}
}

func (e *env) importOne(from, to, typ string) (Document, string) {
	e.t.Helper()
	tt, err := ParseDocType(typ)
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := ParseRecipient(to)
	if err != nil {
		e.t.Fatal(err)
	}
	d, ids, err := e.s.Import(operator(), Import{From: from, To: []Recipient{r}, Type: tt, Subject: "Về việc triển khai chữ ký số",
		Main: File{Name: "main.pdf", Data: testPDF}, Attachments: []File{{Name: "phu-luc.xlsx", Data: []byte("attachment")}}})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(ids) != 1 {
		e.t.Fatalf("envelopes %v", ids)
	}
	return d, ids[0]
}

func codes(ms []StatusMessage) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Code)
	}
	return strings.Join(out, ",")
}

// TestImportDeliverAndStatuses: an import is registered, sealed, delivered
// once through the outbox, and every step of the recipient answers the
// sender with its QCVN 102 code, in order.
func TestImportDeliverAndStatuses(t *testing.T) {
	e := newEnv(t)
	d, env := e.importOne("X001.UBND", "H01.UBND", "CV")
	if d.Symbol != "1/UBND-VP" || d.Status != Registered {
		t.Fatalf("imported %+v", d)
	}
	ctx := context.Background()
	n, err := e.s.DeliverDue(ctx, "h1", 10)
	if err != nil || n != 1 {
		t.Fatalf("delivered %d, %v", n, err)
	}
	// Delivered once: nothing is due any more.
	if n, err := e.s.DeliverDue(ctx, "h1", 10); err != nil || n != 0 {
		t.Fatalf("delivered again %d, %v", n, err)
	}
	ms, err := e.s.Statuses(operator(), env)
	if err != nil || codes(ms) != "01" || ms[0].Agency != "H01.UBND" {
		t.Fatalf("statuses %+v, %v", ms, err)
	}
	var inID string
	if err := e.d.QueryRow(ctx, `SELECT document_id FROM edoc_receipts WHERE envelope_id = ?`, env).Scan(&inID); err != nil {
		t.Fatal(err)
	}
	// A resend of the same envelope is taken in once.
	b, err := e.s.Export(operator(), env)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.s.Receive(kernel.WithActor(ctx, kernel.System("t")), "", b)
	if err != nil || again != inID {
		t.Fatalf("resend: %s, %v (first %s)", again, err, inID)
	}
	clerk, leader, staff := as("hclerk", "H01.UBND"), as("hleader", "H01.UBND"), as("hstaff", "H01.UBND")
	if err := e.s.RegisterIncoming(staff, inID); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("a specialist registered: %v", err)
	}
	e.clock.Advance(time.Hour)
	if err := e.s.RegisterIncoming(clerk, inID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if err := e.s.Assign(leader, inID, "hstaff", e.clock.Now().Add(72*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.s.StartProcessing(staff, inID); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Complete(staff, inID); err != nil {
		t.Fatal(err)
	}
	ms, err = e.s.Statuses(operator(), env)
	if err != nil || codes(ms) != "01,03,04,05,06" {
		t.Fatalf("statuses %s, %v", codes(ms), err)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].At.Before(ms[i-1].At) {
			t.Fatalf("out of order: %+v", ms)
		}
	}
	in, steps, err := e.s.Document(clerk, inID)
	if err != nil || in.Symbol != "1" || in.FromSymbol != "1/UBND-VP" || len(steps) != 3 {
		t.Fatalf("incoming %+v %+v, %v", in, steps, err)
	}
	if steps[0].Kind != "register" || steps[0].Waited(e.clock.Now()) != time.Hour {
		t.Fatalf("register step %+v", steps[0])
	}
	// Another agency's staff do not see it, nor the envelope.
	if _, _, err := e.s.Document(as("other", "T.STP"), inID); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("another agency read: %v", err)
	}
	if _, err := e.s.Statuses(as("other", "T.STP"), env); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("another agency read statuses: %v", err)
	}
}

// TestNumbersNeverRepeatNorSkip: concurrent registrations get distinct
// numbers 1..n; a registration whose transaction fails gives its number back.
func TestNumbersNeverRepeatNorSkip(t *testing.T) {
	e := newEnv(t)
	const n = 12
	var wg sync.WaitGroup
	syms := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, _, err := e.s.Import(operator(), Import{From: "X001.UBND", To: []Recipient{{Agency: "H01.UBND"}}, Type: "QĐ",
				Subject: "Quyết định", Main: File{Name: "qd.pdf", Data: testPDF}})
			if err != nil {
				t.Error(err)
				return
			}
			syms <- d.Symbol
		}()
	}
	wg.Wait()
	close(syms)
	seen := map[string]bool{}
	for s := range syms {
		if seen[s] {
			t.Fatalf("number %s given twice", s)
		}
		seen[s] = true
	}
	for i := 1; i <= n; i++ {
		if !seen[fmt.Sprintf("%d/QĐ-UBND", i)] {
			t.Fatalf("number %d skipped: %v", i, seen)
		}
	}
	// A failed registration leaves no gap.
	ctx := operator()
	err := e.d.Update(ctx, e.clock.Now(), func(tx *db.Tx) error {
		if _, err := nextNumber(ctx, tx, "X001.UBND", Outgoing, tx.Now.In(kernel.Zone()).Year(), "QĐ"); err != nil {
			return err
		}
		return kernel.E(kernel.Internal, "error.internal")
	})
	if err == nil {
		t.Fatal("the failing registration committed")
	}
	d, _, err := e.s.Import(operator(), Import{From: "X001.UBND", To: []Recipient{{Agency: "H01.UBND"}}, Type: "QĐ",
		Subject: "Quyết định", Main: File{Name: "qd.pdf", Data: testPDF}})
	if err != nil || d.Symbol != fmt.Sprintf("%d/QĐ-UBND", n+1) {
		t.Fatalf("after a failure: %s, %v", d.Symbol, err)
	}
	// Another type and another agency count on their own.
	d2, _ := e.importOne("X001.UBND", "H01.UBND", "TB")
	d3, _ := e.importOne("H01.UBND", "X001.UBND", "QĐ")
	if d2.Symbol != "1/TB-UBND" || d3.Symbol != "1/QĐ-UBND" {
		t.Fatalf("other registers: %s %s", d2.Symbol, d3.Symbol)
	}
	// The database refuses a number twice whatever the code does.
	_, err = e.d.WritePool().Exec(e.d.Rebind(`UPDATE edoc_documents SET reg_number = 1 WHERE symbol = ?`), d.Symbol)
	if !db.IsUniqueViolation(err) {
		t.Fatalf("a number reused: %v", err)
	}
}

// TestReceiveRefuses: a changed envelope, one from an unknown
// installation, one too old and one replayed with other content are
// refused, and every refusal is logged.
func TestReceiveRefuses(t *testing.T) {
	e := newEnv(t)
	_, id := e.importOne("X001.UBND", "H01.UBND", "QĐ")
	good, err := e.s.Export(operator(), id)
	if err != nil {
		t.Fatal(err)
	}
	sys := kernel.WithActor(context.Background(), kernel.System("t"))
	tampered := []byte(strings.Replace(string(good), "triển khai", "hủy bỏ", 1))
	if _, err := e.s.Receive(sys, "", tampered); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("tampered: %v", err)
	}
	// Sealed by another installation's CA, claiming ours.
	other := newTestSeals(t, testInstallation)
	s2, _ := New(Options{DB: e.d, Clock: e.clock, Directory: e.s.o.Directory, Seals: other, Installation: testInstallation})
	ev, _ := ParseEnvelope(good)
	ev.Signature = ""
	if err := s2.seal(context.Background(), &ev); err != nil {
		t.Fatal(err)
	}
	forged, _ := ev.Marshal()
	if _, err := e.s.Receive(sys, "", forged); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("forged seal: %v", err)
	}
	// From an installation that is no peer.
	ev, _ = ParseEnvelope(good)
	ev.Header.From.Installation = "https://elsewhere.test"
	ev.Signature = ""
	_ = e.s.seal(context.Background(), &ev)
	stranger, _ := ev.Marshal()
	if _, err := e.s.Receive(sys, "", stranger); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("stranger: %v", err)
	}
	if _, err := e.s.Receive(sys, "nopeer", good); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("unknown peer: %v", err)
	}
	// Too old.
	e.clock.Advance(8 * 24 * time.Hour)
	if _, err := e.s.Receive(sys, "", good); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("stale: %v", err)
	}
	e.clock.Advance(-8 * 24 * time.Hour)
	// Taken in, then the same ID again with other content, sealed right.
	if _, err := e.s.Receive(sys, "", good); err != nil {
		t.Fatal(err)
	}
	ev, _ = ParseEnvelope(good)
	ev.Header.Subject = "Nội dung khác"
	ev.Signature = ""
	_ = e.s.seal(context.Background(), &ev)
	replay, _ := ev.Marshal()
	if _, err := e.s.Receive(sys, "", replay); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("replay: %v", err)
	}
	rs, err := e.s.Refusals(operator(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, r := range rs {
		reasons = append(reasons, r.Reason)
	}
	got := strings.Join(reasons, ",")
	for _, want := range []string{"bad_signature", "unknown_peer", "replay"} {
		if !strings.Contains(got, want) {
			t.Errorf("refusal %s not logged: %s", want, got)
		}
	}
	var audited int
	_ = e.d.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = 'edoc.refuse'`).Scan(&audited)
	if audited != len(rs) {
		t.Errorf("audited refusals %d, logged %d", audited, len(rs))
	}
}

// TestSignOff: draft, submit, return with a comment, revise, submit,
// approve a batch with one code (the version the leader saw), register,
// send; every step's wait is recorded.
func TestSignOff(t *testing.T) {
	e := newEnv(t)
	drafter, leader, clerk := as("drafter", "X001.UBND"), as("leader", "X001.UBND"), as("clerk", "X001.UBND")
	var ids []string
	for i := 0; i < 3; i++ {
		d, err := e.s.Create(drafter, Draft{Agency: "X001.UBND", Type: "TB", Subject: fmt.Sprintf("Thông báo %d", i),
			Recipients: []Recipient{{Agency: "H01.UBND"}}, Main: File{Name: "tb.pdf", Data: testPDF}})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.s.Submit(drafter, d.ID, "leader"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
		e.clock.Advance(10 * time.Minute)
	}
	if _, err := e.s.Create(as("other", "X001.UBND"), Draft{Agency: "X001.UBND"}); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("an outsider drafted: %v", err)
	}
	if err := e.s.Submit(drafter, ids[0], "clerk"); err == nil {
		t.Fatal("a clerk asked to sign")
	}
	w, err := e.s.Waiting(leader, "X001.UBND")
	if err != nil || len(w) != 3 || w[0].ID != ids[0] || w[0].Waited < w[2].Waited {
		t.Fatalf("waiting %+v, %v", w, err)
	}
	if err := e.s.Return(leader, ids[2], "Sửa lại đoạn 2"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Revise(drafter, ids[2], File{Name: "tb2.pdf", Data: append([]byte(nil), append(testPDF, '\n')...)}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Submit(drafter, ids[2], "leader"); err != nil {
		t.Fatal(err)
	}
	// A version the leader did not see is refused, and nothing is signed.
	if err := e.s.Approve(leader, "X001.UBND", []Approval{{ids[0], 1}, {ids[2], 1}}, "123456"); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("stale version approved: %v", err)
	}
	if e.signer.calls != 0 {
		t.Fatal("signed before the versions were checked")
	}
	if err := e.s.Approve(leader, "X001.UBND", []Approval{{ids[0], 1}, {ids[1], 1}, {ids[2], 2}}, "000000"); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("wrong code: %v", err)
	}
	if err := e.s.Approve(drafter, "X001.UBND", []Approval{{ids[0], 1}}, "123456"); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("the drafter signed: %v", err)
	}
	e.clock.Advance(5 * time.Minute)
	if err := e.s.Approve(leader, "X001.UBND", []Approval{{ids[0], 1}, {ids[1], 1}, {ids[2], 2}}, "123456"); err != nil {
		t.Fatal(err)
	}
	if e.signer.calls != 1 {
		t.Fatalf("one approval for the batch, got %d", e.signer.calls)
	}
	d, err := e.s.Register(clerk, ids[0])
	if err != nil || d.Symbol != "1/TB-UBND" {
		t.Fatalf("register %+v, %v", d, err)
	}
	if _, err := e.s.Register(clerk, ids[0]); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("registered twice: %v", err)
	}
	envs, err := e.s.Send(clerk, ids[0])
	if err != nil || len(envs) != 1 {
		t.Fatalf("send %v, %v", envs, err)
	}
	f, err := e.s.MainFile(clerk, ids[0])
	if err != nil || !strings.Contains(string(f.Data), "signed by leader") {
		t.Fatalf("main file %q, %v", f.Data, err)
	}
	_, steps, _ := e.s.Document(leader, ids[2])
	var kinds []string
	for _, s := range steps {
		kinds = append(kinds, s.Kind+":"+s.Outcome)
	}
	if strings.Join(kinds, " ") != "sign:returned sign:approved register:" {
		t.Fatalf("steps %v", kinds)
	}
	var audited int
	_ = e.d.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'edoc.%' AND subject_id = ?`, ids[2]).Scan(&audited)
	if audited != 6 { // draft, submit, return, revise, submit, sign
		t.Fatalf("audited %d", audited)
	}
}

// TestConfidential: a confidential document is seen by the people on it only.
func TestConfidential(t *testing.T) {
	e := newEnv(t)
	d, err := e.s.Create(as("drafter", "X001.UBND"), Draft{Agency: "X001.UBND", Type: "BC", Subject: "Báo cáo mật", Confidentiality: Restricted,
		Recipients: []Recipient{{Agency: "H01.UBND"}}, Main: File{Name: "bc.pdf", Data: testPDF}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.s.Document(as("clerk", "X001.UBND"), d.ID); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("the clerk read a confidential draft: %v", err)
	}
	if err := e.s.Submit(as("drafter", "X001.UBND"), d.ID, "leader"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.s.Document(as("leader", "X001.UBND"), d.ID); err != nil {
		t.Fatalf("the signer cannot read: %v", err)
	}
	// A confidential document arriving: the clerk who registers it sees
	// it at the desk, the district's specialist does not.
	_, ids, err := e.s.Import(operator(), Import{From: "X001.UBND", To: []Recipient{{Agency: "H01.UBND"}}, Type: "BC", Subject: "Báo cáo mật",
		Confidentiality: Restricted, Main: File{Name: "bc.pdf", Data: testPDF}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.DeliverDue(context.Background(), "t", 10); err != nil {
		t.Fatal(err)
	}
	var in string
	_ = e.d.QueryRow(context.Background(), `SELECT document_id FROM edoc_receipts WHERE envelope_id = ?`, ids[0]).Scan(&in)
	if w, err := e.s.Inbox(as("hclerk", "H01.UBND"), "H01.UBND"); err != nil || len(w) != 1 {
		t.Fatalf("the clerk's desk: %+v %v", w, err)
	}
	if _, _, err := e.s.Document(as("hstaff", "H01.UBND"), in); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("a specialist read a confidential arrival: %v", err)
	}
	if err := e.s.RegisterIncoming(as("hclerk", "H01.UBND"), in); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.s.Document(as("hclerk", "H01.UBND"), in); err != nil {
		t.Fatalf("the clerk who registered it: %v", err)
	}
}

// TestEnvelopeValidatesAgainstXSD runs xmllint on an exported envelope.
func TestEnvelopeValidatesAgainstXSD(t *testing.T) {
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Skip("xmllint not installed")
	}
	e := newEnv(t)
	_, id := e.importOne("X001.UBND", "H01.UBND", "CV")
	b, err := e.s.Export(operator(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "env.xml")
	if err := os.WriteFile(out, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, file, _, _ := runtime.Caller(0)
	xsd := filepath.Join(filepath.Dir(file), "..", "..", "docs", "edxml", "civitas-edxml.xsd")
	if msg, err := exec.Command("xmllint", "--noout", "--schema", xsd, out).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, msg)
	}
	var probe struct {
		XMLName xml.Name
	}
	if err := xml.Unmarshal(b, &probe); err != nil || probe.XMLName.Space != Namespace {
		t.Fatalf("root %v, %v", probe.XMLName, err)
	}
}

func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`<edXML xmlns="urn:civitas:edxml:1" version="1"><Header><EnvelopeID>a</EnvelopeID></Header></edXML>`))
	f.Add([]byte(`<?xml version="1.0"?><edXML/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEnvelope(b)
		if err != nil {
			return
		}
		if _, err := e.Canonical(); err != nil {
			t.Fatalf("parsed but cannot marshal: %v", err)
		}
	})
}

// TestRecall: the sender asks back (13); the recipient refuses (16); asked
// again, agrees (15) and its copy is withdrawn.
func TestRecall(t *testing.T) {
	e := newEnv(t)
	_, env := e.importOne("X001.UBND", "H01.UBND", "CV")
	if _, err := e.s.DeliverDue(context.Background(), "t", 10); err != nil {
		t.Fatal(err)
	}
	var in string
	_ = e.d.QueryRow(context.Background(), `SELECT document_id FROM edoc_receipts WHERE envelope_id = ?`, env).Scan(&in)
	clerk, hclerk := as("clerk", "X001.UBND"), as("hclerk", "H01.UBND")
	if err := e.s.AnswerRecall(hclerk, in, true); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("answered before asked: %v", err)
	}
	if err := e.s.RequestRecall(as("hclerk", "H01.UBND"), env, "nhầm nơi nhận"); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("the recipient recalled: %v", err)
	}
	if err := e.s.RequestRecall(clerk, env, "Nhầm nơi nhận"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.AnswerRecall(hclerk, in, false); err != nil {
		t.Fatal(err)
	}
	if err := e.s.RequestRecall(clerk, env, "Xin thu hồi lần hai"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.AnswerRecall(hclerk, in, true); err != nil {
		t.Fatal(err)
	}
	ms, _ := e.s.Statuses(clerk, env)
	if codes(ms) != "01,13,16,13,15" {
		t.Fatalf("statuses %s", codes(ms))
	}
	d, _, err := e.s.Document(hclerk, in)
	if err != nil || d.Status != Recalled {
		t.Fatalf("recalled copy %+v %v", d.Status, err)
	}
	if w, _ := e.s.Inbox(hclerk, "H01.UBND"); len(w) != 0 {
		t.Fatalf("a recalled copy still waits: %+v", w)
	}
}
