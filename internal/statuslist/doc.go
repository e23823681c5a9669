// Package statuslist implements the IETF Token Status List
// (draft-ietf-oauth-status-list) on both sides.
//
// As issuer it owns the status lists of the documents civitas issues (the
// tables status_lists and status_list_entries): it hands out an index of a
// list to each new document inside the issuing transaction (Store.Allocate),
// records revocations and suspensions inside the caller's transaction
// (Store.Set), and builds each list's signed Status List Token, rebuilt when
// the list changes (Store.Published), which the capability publishing the
// lists serves at /status/{list}. As relying party it verifies such tokens
// (Verify) and keeps verified lists for fast checks (Cache). The encoding
// (List, Encode, Decode) is the draft's: bits packed from the least
// significant bit, DEFLATE in zlib, base64url.
//
// The package must never:
//   - reveal the order or time of issuance: indexes are drawn at random from
//     the whole list, lists are named by random ids, and no entry records a
//     time;
//   - hand out one index twice, even across processes and rolled-back
//     transactions;
//   - serve a list it did not sign, or accept one whose signature, type,
//     subject or expiry does not check out, with a key taken from the token;
//   - un-revoke: an INVALID entry stays INVALID;
//   - inflate an untrusted list beyond MaxDecodedSize;
//   - serve pages or import a capability or the web layer: it is a format
//     and a store, below the capabilities that use it.
//
// What a status means for a document, and its audit record, belong to the
// caller (the wallet), which calls Set in the same transaction and serves
// the lists.
package statuslist
