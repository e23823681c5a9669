// Package ocsp answers RFC 6960 OCSP requests for civitas's issuing CAs.
//
// It owns the signed responses: a Responder signs one CA's answers with
// that CA's delegated OCSP signer and keeps them in a bounded cache, so the
// common request (no nonce, a serial asked about before) costs no signature
// and no database read. A revocation reaches relying parties through
// Invalidate, or at the latest once a cached answer has less than Refresh
// left before its nextUpdate. NewHandler serves one or more Responders on
// one URL, by GET (RFC 5019) and POST.
//
// It never decides a certificate's status itself: it reports what its Source
// says, and when the Source cannot say, it answers "tryLater" rather than
// guess. It never logs request contents or key material, never answers an
// HTTP 500 to bad input (OCSP has its own error statuses, sent with HTTP
// 200), and never holds a private key other than through a crypto.Signer.
//
// Mounting: the handler reads the base64 request of a GET from the whole
// path it sees, so mount it under http.StripPrefix. http.ServeMux redirects
// paths containing an unescaped "//", which base64 can contain; clients that
// follow RFC 5019 and URL-encode the request are not affected.
package ocsp
