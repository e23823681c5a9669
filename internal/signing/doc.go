// Package signing is remote signing for every adult and every official: a
// holder's signing credential (a key kept in the CA's key backend and its
// certificate), the requests applications make to sign documents' hashes
// on the holder's behalf, and the holder's approval that alone lets the key
// sign (sole control, as ETSI EN 419 241 asks of a signing server).
//
// An application submits one or many hashes with labels a person can read.
// The request waits for the holder, who approves it with a second factor;
// approval gives the application Signature Activation Data (SAD): random,
// single use, valid for minutes, bound to exactly that request's hashes.
// SignHash with that SAD signs those hashes and nothing else; without it,
// nobody — an administrator included — makes the key sign.
//
// An application may also send PDFs (SubmitPDFs): each is prepared once for
// the holder's certificate, and its byte-range digest is what the holder
// approves; the approval's SAD goes to the application on its next poll
// (HandOff), and SignDocuments (CSC signatures/signDoc) signs and finishes
// the PDFs at the PAdES level asked. An official may hold a second
// credential in their capacity (EnrolOfficial), certified by the Officials
// CA. Applications that give a callback URL are told of each decision by a
// signed webhook (webhooks.go), written to an outbox with the decision and
// posted by RunWebhooks.
//
// It must never keep a SAD (only its SHA-256), never put a SAD or a
// signature in a webhook, never log a webhook secret, never sign a hash
// the holder did not approve, never let one holder see or decide another's
// requests, and it records every signature in the audit log (who, which
// hash, for which application, when).
package signing
