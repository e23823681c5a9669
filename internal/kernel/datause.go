package kernel

// DataUse is one read of a person's data by someone other than that person:
// an agency's system through the data exchange, an official at a desk, a
// relying party receiving claims, a campaign team opening a worklist. Every
// capability that reads a person's data for another party records one in
// the data-use log (owned by the exchange capability), which the person —
// or their guardian — sees, each read exactly once.
//
// A capability declares the small interface it writes through in its own
// package, taking the caller's transaction, for example
//
//	type UseLog interface {
//		Record(ctx context.Context, tx *db.Tx, u kernel.DataUse) error
//	}
//
// and internal/app passes the exchange's log. The time is the transaction's.
type DataUse struct {
	Subject    string   // citizen ID of the person whose data was read
	Reader     Actor    // who read: an official's account, a client; ActorFrom(ctx) when zero
	Agency     string   // the reader's agency code ("" for a relying party without one)
	ReaderName string   // the reader as the person should see it: an agency, an official's post, a service
	Channel    string   // the capability and the way: "exchange", "desk", "wallet.query", "oidc.claims", ...
	Service    string   // what was read: an exchange service code, a document type, "userinfo"
	Fields     []string // the fields returned, as the source names them
	Purpose    string   // the purpose code, from the exchange's catalogue of legal purposes
	CaseRef    string   // the case it served: an application, a document, an inspection
	Receipt    string   // the signed receipt (compact JWS), when there is one
}
