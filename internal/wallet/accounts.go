package wallet

import "context"

// Account is an e-ID account as the wallet's pages need it: whose it is and
// whether it may be used.
type Account struct {
	ID        string
	CitizenID string
	Active    bool // neither suspended nor closed
}

// Dependent is a child an account is guardian of.
type Dependent struct {
	CitizenID string
	Name      string
}

// Membership is an organisation an account acts for.
type Membership struct {
	ID        string // the organisation's account: the audit's on_behalf_of
	RegNumber string // its enterprise code: the holder of its documents
	Name      string
}

// Accounts is what the pages ask of the e-ID: the signed-in account, whom
// it may act for (dependent children, organisations), and an official's
// posts. The e-ID's adapter is in app.
type Accounts interface {
	// Account is the account with that ID; NotFound when there is none.
	Account(ctx context.Context, id string) (Account, error)
	Dependents(ctx context.Context, accountID string) ([]Dependent, error)
	Organisations(ctx context.Context, accountID string) ([]Membership, error)
	// ActFor checks, at this request, that the account may act for whom
	// ("person:CITIZEN-ID" or "org:ORGANISATION-ID") and returns whom's
	// name; Forbidden when it may not.
	ActFor(ctx context.Context, accountID, whom string) (string, error)
	// Posts are the account's posts as an official, from the registry of
	// officials; none for a citizen.
	IssuingOfficials
}
