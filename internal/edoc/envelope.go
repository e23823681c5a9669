package edoc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"strings"
	"time"

	"civitas/internal/jose"
	"civitas/internal/kernel"
)

// Namespace is the envelope's XML namespace; docs/edxml/civitas-edxml.xsd
// is its schema.
const Namespace = "urn:civitas:edxml:1"

// SignatureType is the JWS typ of an envelope's seal.
const SignatureType = "civitas-edxml+jws"

// MaxEnvelope bounds an envelope read from outside (files in base64).
const MaxEnvelope = 160 << 20

// Envelope is a document in transit, edXML-style (QCVN 102:2016/BTTTT):
// a header naming the parties by installation and agency, the files in
// base64 and the sending agency's seal over the canonical bytes.
//
// The seal is a compact JWS (RFC 7515) by the agency's seal key with its
// certificate chain in x5c; its payload names the envelope and the
// SHA-256 of the canonical bytes: the envelope marshalled by Canonical,
// which is the envelope without its Signature element, written with no
// indentation, elements in schema order. A receiver parses, re-marshals,
// hashes and compares: whitespace and namespace prefixes added in transit
// do not matter, any change of a value does. We chose this over XML-DSig
// because it needs no XML canonicalisation (C14N) to get right on both
// sides, and over a detached CAdES because the JWS library and the
// verification are already here and small; the seal certificate is the
// same one the agency's PDFs are sealed with.
type Envelope struct {
	XMLName   xml.Name `xml:"urn:civitas:edxml:1 edXML"`
	Version   string   `xml:"version,attr"`
	Header    Header   `xml:"Header"`
	Files     []XFile  `xml:"Files>File"`
	Signature string   `xml:"Signature,omitempty"`
}

// Party is a sender or a recipient: an agency of an installation.
type Party struct {
	Installation string `xml:"Installation"`
	Agency       string `xml:"Agency"`
	Name         string `xml:"Name,omitempty"`
}

// Header is what the envelope says of the document.
type Header struct {
	ID              string `xml:"EnvelopeID"`
	From            Party  `xml:"From"`
	To              Party  `xml:"To"`
	Number          int64  `xml:"Code>Number"`
	Symbol          string `xml:"Code>Symbol"`
	Date            string `xml:"PromulgationDate"` // 2006-01-02, in the province's zone
	SentAt          string `xml:"SentAt"`           // RFC 3339
	Subject         string `xml:"Subject"`
	Type            string `xml:"Type"`
	Urgency         string `xml:"Urgency"`
	Confidentiality string `xml:"Confidentiality"`
	Due             string `xml:"DueDate,omitempty"`
	Trace           *Trace `xml:"Trace,omitempty"`
}

// Trace lists the documents this one answers or follows, by symbol.
type Trace struct {
	Symbols []string `xml:"Symbol"`
}

func (h Header) traces() []string {
	if h.Trace == nil {
		return nil
	}
	return h.Trace.Symbols
}

// XFile is a file in an envelope.
type XFile struct {
	Role      string `xml:"role,attr"` // main, attachment
	Name      string `xml:"name,attr"`
	MediaType string `xml:"mediaType,attr"`
	SHA256    string `xml:"sha256,attr"`
	Data      string `xml:",chardata"` // base64
}

// Canonical is the bytes the seal covers: the envelope without its
// signature, marshalled without indentation.
func (e Envelope) Canonical() ([]byte, error) {
	e.Signature = ""
	e.XMLName = xml.Name{Space: Namespace, Local: "edXML"}
	b, err := xml.Marshal(e)
	if err != nil {
		return nil, kernel.Wrap(err, "edoc: marshal envelope")
	}
	return b, nil
}

// Marshal is the envelope as sent: the canonical form with its signature,
// and an XML declaration.
func (e Envelope) Marshal() ([]byte, error) {
	e.XMLName = xml.Name{Space: Namespace, Local: "edXML"}
	b, err := xml.Marshal(e)
	if err != nil {
		return nil, kernel.Wrap(err, "edoc: marshal envelope")
	}
	return append([]byte(xml.Header), b...), nil
}

// sealPayload is the JWS payload of an envelope's seal.
type sealPayload struct {
	Envelope string `json:"env"`
	SHA256   string `json:"sha256"` // base64url of the canonical bytes' SHA-256
}

// seal signs the envelope with the sending agency's seal.
func (s *Service) seal(ctx context.Context, e *Envelope) error {
	signer, chain, err := s.o.Seals.Seal(ctx, e.Header.From.Agency)
	if err != nil {
		return err
	}
	alg, err := jose.AlgFor(signer.Public())
	if err != nil {
		return kernel.Wrap(err, "edoc: seal algorithm")
	}
	canon, err := e.Canonical()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(canon)
	x5c := make([]string, len(chain))
	for i, c := range chain {
		x5c[i] = base64.StdEncoding.EncodeToString(c.Raw)
	}
	tok, err := jose.SignJSON(signer, jose.Header{Alg: alg, Typ: SignatureType, Extra: map[string]any{"x5c": x5c}},
		sealPayload{Envelope: e.Header.ID, SHA256: base64.RawURLEncoding.EncodeToString(sum[:])})
	if err != nil {
		return kernel.Wrap(err, "edoc: seal envelope")
	}
	e.Signature = tok
	return nil
}

// ParseEnvelope reads an envelope's XML and checks its form (not its
// seal: see verify).
func ParseEnvelope(b []byte) (Envelope, error) {
	bad := kernel.E(kernel.Invalid, "edoc.error.bad_envelope")
	if len(b) > MaxEnvelope {
		return Envelope{}, bad
	}
	var e Envelope
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	dec.Entity = nil
	if err := dec.Decode(&e); err != nil {
		return Envelope{}, bad.WithCause(err)
	}
	if e.XMLName.Space != Namespace || e.XMLName.Local != "edXML" || e.Version != "1" {
		return Envelope{}, bad
	}
	h := e.Header
	if !codeOK(h.ID) || !codeOK(h.From.Agency) || !codeOK(h.To.Agency) || h.From.Installation == "" || h.To.Installation == "" ||
		len(h.From.Installation) > 300 || len(h.To.Installation) > 300 || !checkText(h.Subject, maxSubject) || !checkText(h.Symbol, 100) || h.Number <= 0 {
		return Envelope{}, bad
	}
	if _, ok := docTypes[DocType(h.Type)]; !ok {
		return Envelope{}, bad
	}
	if _, err := time.Parse(time.RFC3339, h.SentAt); err != nil {
		return Envelope{}, bad
	}
	if _, err := time.Parse(time.DateOnly, h.Date); err != nil {
		return Envelope{}, bad
	}
	if h.Due != "" {
		if _, err := time.Parse(time.DateOnly, h.Due); err != nil {
			return Envelope{}, bad
		}
	}
	d := Document{Subject: h.Subject, Type: DocType(h.Type), Urgency: Urgency(h.Urgency), Confidentiality: Confidentiality(h.Confidentiality),
		Recipients: []Recipient{{Agency: h.To.Agency}}, Traces: h.traces()}
	if h.Trace != nil && len(h.Trace.Symbols) == 0 {
		return Envelope{}, bad
	}
	if err := d.validate(); err != nil {
		return Envelope{}, bad
	}
	if len(e.Files) == 0 || len(e.Files) > maxFiles+1 || e.Files[0].Role != "main" {
		return Envelope{}, bad
	}
	for i, f := range e.Files {
		if (i > 0) != (f.Role == "attachment") || !checkText(f.Name, 200) || len(f.SHA256) != 64 {
			return Envelope{}, bad
		}
	}
	if e.Signature == "" || len(e.Signature) > jose.MaxTokenSize {
		return Envelope{}, bad
	}
	return e, nil
}

// files decodes the envelope's files and checks their digests.
func (e Envelope) files() (File, []File, error) {
	bad := kernel.E(kernel.Invalid, "edoc.error.bad_envelope")
	var main File
	var att []File
	for i, xf := range e.Files {
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(xf.Data))
		if err != nil || digest(data) != xf.SHA256 {
			return File{}, nil, bad
		}
		f := File{Name: xf.Name, MediaType: xf.MediaType, Data: data, SHA256: xf.SHA256}
		if i == 0 {
			main = f
		} else {
			att = append(att, f)
		}
	}
	if !isPDF(main.Data) {
		return File{}, nil, bad
	}
	return main, att, nil
}

// verify checks the seal: a JWS by a seal certificate the sender's
// installation issued to the sending agency, over these canonical bytes.
// It returns the canonical bytes' digest (hex).
func (s *Service) verify(ctx context.Context, e Envelope) (string, error) {
	bad := kernel.E(kernel.Invalid, "edoc.error.bad_signature")
	j, err := jose.Parse(e.Signature)
	if err != nil || j.Header.Typ != SignatureType {
		return "", bad
	}
	var x5c []string
	if err := json.Unmarshal(j.RawHeader["x5c"], &x5c); err != nil || len(x5c) == 0 || len(x5c) > 5 {
		return "", bad
	}
	chain := make([]*x509.Certificate, len(x5c))
	for i, c := range x5c {
		der, err := base64.StdEncoding.DecodeString(c)
		if err != nil {
			return "", bad
		}
		if chain[i], err = x509.ParseCertificate(der); err != nil {
			return "", bad
		}
	}
	if err := j.Verify(chain[0].PublicKey, jose.ES256, jose.ES384, jose.RS256, jose.PS256); err != nil {
		return "", bad
	}
	var p sealPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.Envelope != e.Header.ID {
		return "", bad
	}
	canon, err := e.Canonical()
	if err != nil {
		return "", bad
	}
	sum := sha256.Sum256(canon)
	if p.SHA256 != base64.RawURLEncoding.EncodeToString(sum[:]) {
		return "", bad
	}
	sent, _ := time.Parse(time.RFC3339, e.Header.SentAt)
	agency, err := s.o.Seals.Check(ctx, e.Header.From.Installation, chain, sent)
	if err != nil {
		return "", bad.WithCause(err)
	}
	if agency != e.Header.From.Agency {
		return "", bad
	}
	return digest(canon), nil
}

// envelopeFor builds the envelope of a registered document to one
// recipient, unsigned.
func (s *Service) envelopeFor(ctx context.Context, d Document, to Recipient, toInstallation string, main File, att []File, now time.Time) (Envelope, error) {
	from, err := s.o.Directory.Agency(ctx, d.Agency)
	if err != nil {
		return Envelope{}, err
	}
	e := Envelope{Version: "1", Header: Header{
		ID:     kernel.NewID(),
		From:   Party{Installation: s.o.Installation, Agency: d.Agency, Name: from.Name},
		To:     Party{Installation: toInstallation, Agency: to.Agency},
		Number: d.Number, Symbol: d.Symbol, Date: d.IssuedAt.In(kernel.Zone()).Format(time.DateOnly),
		SentAt: now.UTC().Format(time.RFC3339), Subject: d.Subject, Type: string(d.Type), Urgency: string(d.Urgency),
		Confidentiality: string(d.Confidentiality),
	}}
	if len(d.Traces) > 0 {
		e.Header.Trace = &Trace{Symbols: d.Traces}
	}
	if !d.Due.IsZero() {
		e.Header.Due = d.Due.In(kernel.Zone()).Format(time.DateOnly)
	}
	add := func(role string, f File) {
		e.Files = append(e.Files, XFile{Role: role, Name: f.Name, MediaType: mediaType(f), SHA256: digest(f.Data),
			Data: base64.StdEncoding.EncodeToString(f.Data)})
	}
	add("main", main)
	for _, f := range att {
		add("attachment", f)
	}
	return e, nil
}

func mediaType(f File) string {
	if f.MediaType != "" {
		return f.MediaType
	}
	if isPDF(f.Data) {
		return "application/pdf"
	}
	return "application/octet-stream"
}
