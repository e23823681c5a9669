package tsa

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// PKIStatus values (RFC 3161 §2.4.2).
const (
	statusGranted   = 0
	statusRejection = 2
)

// Respond answers a DER TimeStampReq with a DER TimeStampResp: a token, or a
// refusal that says why not. It never panics and never returns nil, so a
// caller can always hand its result to the client.
func (a *Authority) Respond(req []byte) (resp []byte) {
	defer func() {
		// The Signer may be a hardware token's library, outside our control;
		// whatever it does, the client gets an answer and the server lives.
		if p := recover(); p != nil {
			slog.Error("tsa: panic while answering a query", slog.Any("panic", p))
			resp = reject(refusal{systemFailure, "the TSA cannot answer now"})
		}
	}()
	q, r := a.parse(req)
	if r != nil {
		return reject(*r)
	}
	resp, err := a.grant(q)
	if err != nil {
		slog.Error("tsa: no token", slog.Any("error", err))
		return reject(refusal{systemFailure, "the TSA cannot answer now"})
	}
	return resp
}

// grant makes the token for an accepted query and wraps it in a
// TimeStampResp.
func (a *Authority) grant(q query) ([]byte, error) {
	now := a.clock()
	// A token signed outside the certificate's validity would not verify;
	// better to refuse and be noticed in the logs.
	if now.Before(a.notBefore) || now.After(a.notAfter) {
		return nil, fmt.Errorf("tsa: the clock (%s) is outside the certificate's validity", now.UTC().Format(time.RFC3339))
	}
	serial, err := a.serial()
	if err != nil {
		return nil, fmt.Errorf("tsa: serial number: %w", err)
	}
	if serial == nil || serial.Sign() <= 0 || serial.BitLen() > 160 {
		return nil, errors.New("tsa: the serial number is not a positive number of at most 160 bits")
	}
	// RFC 3161 §2.4.2: GeneralizedTime in UTC, fractions of a second
	// without trailing zeros, and no dot for a whole second; the ".999999"
	// layout does exactly that.
	var timeBuf [32]byte
	genTime := a.genTime(now).AppendFormat(timeBuf[:0], "20060102150405.999999Z")

	tb := cryptobyte.NewBuilder(make([]byte, 0, 128+len(q.imprint)+len(q.nonce)+len(a.tsaName)))
	tb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // TSTInfo
		b.AddBytes(a.tstHead) // version, policy
		b.AddBytes(q.imprint)
		b.AddASN1BigInt(serial)
		b.AddASN1(cbasn1.GeneralizedTime, func(b *cryptobyte.Builder) { b.AddBytes(genTime) })
		b.AddBytes(a.accuracy)
		// ordering is FALSE, its default, so DER leaves it out.
		b.AddBytes(q.nonce)
		b.AddBytes(a.tsaName)
	})
	tst, err := tb.Bytes()
	if err != nil {
		return nil, fmt.Errorf("tsa: encode TSTInfo: %w", err)
	}

	digest := sha256.Sum256(tst)
	attrs := slices.Clone(a.attrs)
	copy(attrs[a.digestAt:], digest[:])
	// The signature covers the attributes with their SET tag (RFC 5652 §5.4).
	h := sha256.Sum256(attrs)
	sig, err := a.signer.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("tsa: sign: %w", err)
	}
	attrs[0] = byte(tagExplicit0) // in the SignerInfo they are signedAttrs [0] IMPLICIT

	size := 128 + len(tst) + len(attrs) + len(sig) + len(a.sdHead) + len(a.siHead) + len(a.sigAlg)
	if q.certReq {
		size += len(a.certs)
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, size))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // TimeStampResp
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(statusGranted) })
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
			b.AddASN1ObjectIdentifier(oidSignedData)
			b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
					b.AddBytes(a.sdHead)
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncapsulatedContentInfo
						b.AddASN1ObjectIdentifier(oidTSTInfo)
						b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) { b.AddASN1OctetString(tst) })
					})
					if q.certReq {
						b.AddBytes(a.certs)
					}
					b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
							b.AddBytes(a.siHead)
							b.AddBytes(attrs)
							b.AddBytes(a.sigAlg)
							b.AddASN1OctetString(sig)
						})
					})
				})
			})
		})
	})
	resp, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("tsa: encode the response: %w", err)
	}
	return resp, nil
}

// genTime is max(latest genTime, now) to the microsecond: tokens from one
// Authority never go back in time, even when the clock is stepped back,
// because a verifier may order documents by their tokens. A lock-free
// compare-and-swap keeps parallel signers from waiting on each other.
func (a *Authority) genTime(now time.Time) time.Time {
	t := now.UnixMicro()
	for {
		last := a.last.Load()
		if t <= last {
			return time.UnixMicro(last).UTC()
		}
		if a.last.CompareAndSwap(last, t) {
			return time.UnixMicro(t).UTC()
		}
	}
}

// rejectionFallback is a bare refusal, for the case that cannot happen
// where encoding a refusal fails: Respond must still answer something.
var rejectionFallback = []byte{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, statusRejection}

// reject encodes a TimeStampResp with status rejection, a statusString
// and the PKIFailureInfo bit.
func reject(r refusal) []byte {
	b := cryptobyte.NewBuilder(make([]byte, 0, 24+len(r.text)))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // TimeStampResp
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // PKIStatusInfo
			b.AddASN1Int64(statusRejection)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // PKIFreeText
				b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(r.text)) })
			})
			// DER ends a named-bit BIT STRING at its last set bit (X.690 §11.2.2).
			bits := make([]byte, r.bit/8+1)
			bits[r.bit/8] = 0x80 >> (r.bit % 8)
			b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) {
				b.AddUint8(uint8(7 - r.bit%8)) // unused bits in the last octet
				b.AddBytes(bits)
			})
		})
	})
	out, err := b.Bytes()
	if err != nil {
		return slices.Clone(rejectionFallback)
	}
	return out
}
