// Package portal is the public-service portal: the catalogue of
// administrative procedures, citizens' applications filled from the
// registries and the wallet, integrated procedures split among agencies,
// deadlines in working days, fees, the officials' desk, and the results
// issued into the holder's wallet.
//
// The catalogue (catalogue.go, procedures/*.json, overridable by files in
// the data directory) is data: a procedure is its names, agency, legal
// basis, fee and exemptions, time limit, inputs, steps and roles, and the
// wallet type it results in; a new procedure needs no code. Every input
// says where it comes from — a registry service (read through the data
// exchange), a wallet document, a form field or an upload — and input
// names are one vocabulary: the registries' field names and the wallet's
// type codes. Validate enforces the no-paper rule on the catalogue itself:
// an upload may never be data a registry or the wallet holds.
//
// An application (application.go) is made for its subject — the applicant,
// a dependent child, or an organisation the applicant acts for — and is
// pre-filled at once, each registry read through the exchange with the
// application as its case. The applicant sees what came from which
// registry and may flag an error to the agency that keeps it instead of
// sending paper. Submission fixes the promised return date on the
// working-day calendar (calendar/). Each part of the procedure goes to the
// agency of its kind serving the subject's commune (workflow.go); parts of
// an integrated procedure run in parallel or in order, and the applicant
// sees one status. An approval changes the registries in the decision's
// transaction (effects.go), then the result is issued into the holder's
// wallet as an SD-JWT VC and as a PDF signed by the deciding official in
// their capacity and sealed by the agency (results.go).
//
// It never imports another capability: the exchange, the wallet, signing,
// payments, notifications and the e-ID reach it through the small
// interfaces of service.go, with adapters in internal/app. It must never
// ask an applicant to upload what the state holds, never let an official
// request such an input at the desk, never show an application to anyone
// but its applicant, its subject (or their guardian) and the officials of
// the agencies it is routed to, never let a decision be taken without the
// role and a level-2 session, never serve an upload inline or execute it,
// never log personal data, and it audits every step.
package portal
