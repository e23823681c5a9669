// Package privacy is the data subject's rights and the operator's duties
// over personal data (Decree 13/2023/NĐ-CP; the 2025 Law on Personal Data
// Protection): a citizen downloads everything civitas holds about them —
// and about the children they are guardian of — as JSON and as a readable
// PDF, sees the consents they gave relying parties and withdraws them, and
// asks the agency that holds a record to correct it; officials of that
// agency answer at /officer/privacy. The operator runs retention rules
// (rules as data: what table, which time column, how long) and records
// data breaches with the notification the authority must receive within
// 72 hours.
//
// What each capability holds comes through Source, declared here and
// adapted in internal/app, so privacy imports no capability; the
// registries' records it reads itself (registry is reference data).
//
// It must never put into one person's export anything about another
// person (a household's other members, the officials who acted: only the
// kind of actor), never let anyone but the person (or their guardian, for
// a dependant) export or correct their data, never delete from the audit
// log (retention refuses its tables: records name people only by
// identifier, so the chain stays verifiable), and never log personal data.
package privacy
