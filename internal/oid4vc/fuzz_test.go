package oid4vc

import (
	"encoding/json"
	"testing"
)

// FuzzVPToken: whatever a wallet app posts as vp_token, reading it neither
// panics nor yields anything but one non-empty presentation.
func FuzzVPToken(f *testing.F) {
	for _, s := range []string{`{"civitas":["a~b~"]}`, `{"civitas":"a~"}`, `{"civitas":[]}`, `{"x":["a"]}`, `[]`, `"a"`, `{"civitas":["a","b"]}`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, vp string) {
		p, pe := onePresentation(vp)
		if (pe == nil) == (p == "") {
			t.Fatalf("%q: presentation %q, error %v", vp, p, pe)
		}
	})
}

// FuzzCredentialRequest: whatever a wallet app sends as a credential
// request, reading its proof neither panics nor yields an empty proof.
func FuzzCredentialRequest(f *testing.F) {
	for _, s := range []string{
		`{"credential_configuration_id":"x","proofs":{"jwt":["a.b.c"]}}`,
		`{"credential_configuration_id":"x","proof":{"proof_type":"jwt","jwt":"a.b.c"}}`,
		`{"proofs":{"jwt":["a","b"]}}`, `{"proofs":{"jwt":"a"}}`, `{"proofs":{"attestation":["a"]}}`, `{"proof":{}}`, `null`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req credentialRequest
		if json.Unmarshal([]byte(body), &req) != nil {
			return
		}
		p, err := req.onlyProof()
		if (err == nil) == (p == "") {
			t.Fatalf("%q: proof %q, error %v", body, p, err)
		}
	})
}
