package ocsp

import (
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"

	xocsp "golang.org/x/crypto/ocsp"
)

// maxRequest bounds a request's DER, by POST or GET. A request for one
// certificate with a nonce is about 100 octets.
const maxRequest = 10 << 10

// maxNonce is RFC 8954's upper bound on a nonce's length.
const maxNonce = 32

var errMalformed = errors.New("ocsp: malformed request")

// requestExtensions is the OCSPRequest of RFC 6960 §4.1.1 read only as far
// as its requestExtensions, which x/crypto/ocsp.ParseRequest skips. The
// request list is left raw: ParseRequest reads it.
type requestExtensions struct {
	TBSRequest struct {
		Version       int           `asn1:"explicit,tag:0,default:0,optional"`
		RequestorName asn1.RawValue `asn1:"explicit,tag:1,optional"`
		RequestList   asn1.RawValue
		Extensions    []asn1.RawValue `asn1:"explicit,tag:2,optional"`
	}
}

// extension is one Extension; raw so that a malformed one is refused
// rather than half-read.
type extension struct {
	ID       asn1.ObjectIdentifier
	Critical bool `asn1:"optional"`
	Value    []byte
}

// parseRequest reads a DER OCSPRequest: its first CertID and, if present,
// its nonce as the DER extnValue to echo (an OCTET STRING of 1 to 32
// octets, RFC 8954).
func parseRequest(der []byte) (*xocsp.Request, []byte, error) {
	req, err := xocsp.ParseRequest(der)
	if err != nil || req.SerialNumber == nil {
		return nil, nil, errMalformed
	}
	var outer requestExtensions
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		return nil, nil, errMalformed
	}
	var nonce []byte
	for _, raw := range outer.TBSRequest.Extensions {
		var ext extension
		if rest, err := asn1.Unmarshal(raw.FullBytes, &ext); err != nil || len(rest) > 0 {
			return nil, nil, errMalformed
		}
		if !ext.ID.Equal(oidNonce) {
			continue // RFC 6960 §4.4: unrecognised extensions are ignored
		}
		var value []byte
		rest, err := asn1.Unmarshal(ext.Value, &value)
		if nonce != nil || err != nil || len(rest) > 0 || len(value) < 1 || len(value) > maxNonce {
			return nil, nil, errMalformed
		}
		nonce = ext.Value
	}
	return req, nonce, nil
}

// fromURLSafe undoes what happens to base64 on the way: some clients use
// the URL-safe alphabet, and form-decoding turns '+' into ' '.
var fromURLSafe = strings.NewReplacer("-", "+", "_", "/", " ", "+")

// requestFromPath decodes a GET request: the path after the mount point
// (already URL-unescaped by net/http) is the base64 of the DER request, in
// either alphabet, padded or not. It returns nil if it is not.
func requestFromPath(path string) []byte {
	s := strings.TrimLeft(path, "/") // a DER request's base64 starts with 'M', never '/'
	if strings.Contains(s, "%") {
		// Escaped twice on the way; base64 never contains '%' itself.
		var err error
		if s, err = url.PathUnescape(s); err != nil {
			return nil
		}
	}
	s = strings.TrimRight(s, "=")
	if s == "" || len(s) > base64.RawStdEncoding.EncodedLen(maxRequest) {
		return nil
	}
	if strings.ContainsAny(s, "-_ ") {
		s = fromURLSafe.Replace(s)
	}
	der, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	return der
}
