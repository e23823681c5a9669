package wallet_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/wallet"
)

// recordingUses is a data-use log that keeps what it is told.
type recordingUses struct {
	mu   sync.Mutex
	uses []kernel.DataUse
}

func (r *recordingUses) Record(_ context.Context, _ *db.Tx, u kernel.DataUse) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.uses = append(r.uses, u)
	return nil
}

// TestHoldsWritesTheDataUseLog: every holdings query about a person is a
// read of their data, in the log they see, with the claims given; one
// about an organisation is not a person's.
func TestHoldsWritesTheDataUseLog(t *testing.T) {
	e := newEnv(t)
	uses := &recordingUses{}
	o := e.opts
	o.UseLog = uses
	w, err := wallet.New(o)
	if err != nil {
		t.Fatal(err)
	}
	insurance := e.agency(registry.SocialInsurance)
	p := e.person(0)
	h := wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}
	if _, err := w.Issue(e.ctx, wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: h, Claims: healthCard(p)}); err != nil {
		t.Fatal(err)
	}
	portal := wallet.Requester{Kind: kernel.ActorSystem, ID: "portal", Agency: insurance}
	bank := wallet.Requester{Kind: kernel.ActorClient, ID: "bank"}
	for _, r := range []wallet.Requester{portal, bank} {
		if _, err := w.Holds(e.ctx, wallet.Query{CitizenID: p.CitizenID, Type: "health_insurance_card", Purpose: "thủ tục hưởng BHYT",
			Claims: []string{"hospital"}, Requester: r}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Holds(e.ctx, wallet.Query{CitizenID: p.CitizenID, Type: "nope", Purpose: "thủ tục", Requester: portal}); err == nil {
		t.Fatal("an unknown type answered")
	}
	b := e.business()
	if _, err := w.Holds(e.ctx, wallet.Query{RegNumber: b.RegNumber, Type: "business_registration", Purpose: "đấu thầu", Requester: portal}); err != nil {
		t.Fatal(err)
	}
	if len(uses.uses) != 2 {
		t.Fatalf("%d reads recorded: %+v", len(uses.uses), uses.uses)
	}
	told, yesOrNo := uses.uses[0], uses.uses[1]
	if told.Subject != p.CitizenID || told.Channel != "wallet.query" || told.Service != "health_insurance_card" || told.Agency != insurance ||
		!slices.Equal(told.Fields, []string{"holds", "hospital"}) || told.Purpose != "thủ tục hưởng BHYT" || told.Reader.ID != "portal" {
		t.Fatalf("the agency's read: %+v", told)
	}
	if !slices.Equal(yesOrNo.Fields, []string{"holds"}) || yesOrNo.Reader.ID != "bank" {
		t.Fatalf("the bank's read: %+v", yesOrNo)
	}
}
