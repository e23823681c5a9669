package cms

import "crypto/x509"

// AddTimestampUnchecked adds token as a signature time-stamp without the
// checks of AddTimestamp, so tests can show that Verify makes them itself.
func AddTimestampUnchecked(cms, token []byte) ([]byte, error) {
	sd, err := parseSignedData(cms)
	if err != nil {
		return nil, err
	}
	return addUnsigned(sd, &sd.signers[0], oidSignatureTimeStamp, token)
}

// SubstituteSigner makes p name c as the signer in the sid and the
// certificates, while its ESS attribute still names the certificate it was
// prepared for: the certificate substitution the attribute exists to stop.
func SubstituteSigner(p *Pending, c *x509.Certificate) {
	p.cert = c
	p.certs = [][]byte{c.Raw}
}
