// Package web is the HTTP face of civitas that every capability shares: the
// middleware chain (panic recovery, request IDs, access log, Prometheus
// metrics, security headers, body limits, language choice, sessions and
// CSRF protection), the page layout and its templates, error pages, RFC
// 9457 problem details and OAuth 2.0 error JSON (each path answers every
// error in one form, whatever layer raised it), content-hashed static files,
// and the operational endpoints /healthz, /readyz and /metrics (the last
// only with the operator's token, or on a listener of its own).
//
// It owns the web_sessions table and the layout. Capabilities add their
// routes with Server.Handle and render their own embedded templates inside
// the layout with Server.Pages.
//
// It must never hold domain rules or know a capability, never log a query
// string, a path or anything personal, never show a user an internal error's
// text or a stack trace, and never let a state-changing request through
// without the CSRF checks unless its route was exempted for bearer-token
// clients (which must then not rely on the session cookie; the session is
// not even loaded on those routes).
package web
