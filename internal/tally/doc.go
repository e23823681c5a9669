// Package tally keeps the figures capabilities publish per administrative
// unit and day, for the adoption dashboards: counts such as "level-2
// accounts activated" or "applications submitted online", each a sum of
// deltas that a capability adds inside the transaction that makes the
// change, so a figure is exact and live the moment the change commits.
//
// It is plumbing, like audit: every capability may import it, and it
// imports no capability. Capabilities declare their indicators (Indicator)
// and add to them (Add); the stats capability reads them (Sum, Rows) and
// rebuilds them from each capability's own data to check them.
//
// It must never hold personal data: a tally names an indicator, a unit code
// and a day, and nothing about who.
package tally
