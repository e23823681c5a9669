// Package stats is the adoption capability: indicators per administrative
// unit and day (commune → district → province), the campaigns that move
// them (targets, support points, mobile-team visits), the leaders'
// dashboards (charts drawn as SVG on the server, each beside its data
// table), the worklists of the residents a team should still visit, and
// open data (CSV, JSON, Prometheus gauges).
//
// The figures come from the capabilities themselves: each declares its
// indicators and adds to them through internal/tally in the transaction
// that makes the change; the application hands them here as Sources, so a
// capability adds an indicator without touching this package. Figures that
// are not sums of deltas (adults on a day, signers of the last 30 days)
// come through small interfaces (Population, Signers).
//
// It never publishes personal data: public figures are counts, and small
// counts of communes are suppressed in open data. Worklists name people;
// only staff of the area see them and every view is written to the
// data-use log with its purpose.
package stats
