// Package pkitest makes throwaway certificate hierarchies for the tests of
// the packages that sign, time-stamp, answer OCSP or validate: roots,
// issuing CAs, signers, a TSA's and an OCSP responder's certificates, CRLs,
// and the client side of the protocols (OCSP requests, time-stamp queries,
// revocation evidence as a relying party gathers it). Tests only: nothing
// in civitas runs on these keys.
//
// Of civitas it imports pki/tsa alone, to run civitas's TSA over a
// hierarchy's time-stamping unit; that is safe because the tests of pki/tsa
// are an external package (tsa_test). It must never import pki/ocsp, nor
// pki which imports it: the tests of pki/ocsp sit inside that package and
// use this one. The OCSP responders a test runs are handed in through the
// small Responder interface declared here.
package pkitest
