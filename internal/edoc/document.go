package edoc

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"civitas/internal/kernel"
)

// DocType is a document type by its Decree 30/2020/NĐ-CP abbreviation
// (Appendix III): the part of the symbol after the number.
type DocType string

// OfficialLetter is the công văn: its symbol carries no type, only the
// agency and the drafting unit (123/UBND-VP).
const OfficialLetter DocType = "CV"

// docTypes are the abbreviations of Decree 30 (Appendix III, I) with their
// names; CV is the official letter.
var docTypes = map[DocType]string{
	"NQ": "Nghị quyết", "QĐ": "Quyết định", "CT": "Chỉ thị", "QC": "Quy chế", "QYĐ": "Quy định",
	"TC": "Thông cáo", "TB": "Thông báo", "HD": "Hướng dẫn", "CTr": "Chương trình", "KH": "Kế hoạch",
	"PA": "Phương án", "ĐA": "Đề án", "DA": "Dự án", "BC": "Báo cáo", "BB": "Biên bản", "TTr": "Tờ trình",
	"HĐ": "Hợp đồng", "CĐ": "Công điện", "BGN": "Bản ghi nhớ", "BTT": "Bản thỏa thuận", "GUQ": "Giấy ủy quyền",
	"GM": "Giấy mời", "GGT": "Giấy giới thiệu", "GNP": "Giấy nghỉ phép", "PG": "Phiếu gửi", "PC": "Phiếu chuyển",
	"PB": "Phiếu báo", OfficialLetter: "Công văn",
}

// ParseDocType reads a type abbreviation, accepting it in any case and
// with the Đ written as D-stroke or as a plain D where that is unambiguous.
func ParseDocType(s string) (DocType, error) {
	s = strings.TrimSpace(s)
	if _, ok := docTypes[DocType(s)]; ok {
		return DocType(s), nil
	}
	for t := range docTypes {
		if strings.EqualFold(string(t), s) {
			return t, nil
		}
	}
	return "", kernel.E(kernel.Invalid, "edoc.error.bad_type")
}

// Name is the type's name in Vietnamese.
func (t DocType) Name() string { return docTypes[t] }

// DocTypes lists the known abbreviations.
func DocTypes() []DocType {
	out := make([]DocType, 0, len(docTypes))
	for t := range docTypes {
		out = append(out, t)
	}
	return out
}

// Urgency is the độ khẩn of a document.
type Urgency string

// The urgencies of Decree 30 (Article 15, Appendix I): normal, khẩn,
// thượng khẩn, hỏa tốc.
const (
	Normal  Urgency = "normal"
	Urgent  Urgency = "urgent"
	Express Urgency = "express"
	Flash   Urgency = "flash"
)

// Confidentiality is the độ mật of a document.
type Confidentiality string

// The levels: a confidential document is seen only by the people on it.
const (
	Public     Confidentiality = "normal"
	Restricted Confidentiality = "confidential"
	Secret     Confidentiality = "secret"
	TopSecret  Confidentiality = "top_secret"
)

// Direction says whether a document leaves or reaches the agency.
type Direction string

// The directions of a register.
const (
	Outgoing Direction = "out"
	Incoming Direction = "in"
)

// Status is where a document is in its life.
type Status string

// The statuses.
const (
	Drafted    Status = "draft"
	Signing    Status = "signing"
	Returned   Status = "returned"
	Signed     Status = "signed"
	Registered Status = "registered"
	Sent       Status = "sent"
	Received   Status = "received" // incoming, arrived, not yet registered
	InRegister Status = "in_register"
	Assigned   Status = "assigned"
	Processing Status = "processing"
	Completed  Status = "completed"
	Refused    Status = "refused"
	Recalled   Status = "recalled"
)

// Recipient is an agency a document goes to: Peer "" is this installation,
// else the name the operator gave the peer (civitas peer add).
type Recipient struct {
	Peer   string `json:"peer,omitempty"`
	Agency string `json:"agency"`
}

// ParseRecipient reads AGENCY or AGENCY@PEER.
func ParseRecipient(s string) (Recipient, error) {
	ag, peer, _ := strings.Cut(strings.TrimSpace(s), "@")
	r := Recipient{Agency: ag, Peer: peer}
	if !codeOK(ag) || (peer != "" && !codeOK(peer)) {
		return Recipient{}, kernel.E(kernel.Invalid, "edoc.error.bad_recipient")
	}
	return r, nil
}

func (r Recipient) String() string {
	if r.Peer == "" {
		return r.Agency
	}
	return r.Agency + "@" + r.Peer
}

// codeOK accepts an agency or peer code: letters, digits, dot, dash,
// underscore, at most 64.
func codeOK(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '.' || r == '-' || r == '_' || r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// File is a document's file: the main PDF or an attachment.
type File struct {
	Name      string
	MediaType string
	Data      []byte
	SHA256    string // hex, filled when stored
}

// Document is an agency's document, outgoing or incoming.
type Document struct {
	ID              string
	Agency          string
	Unit            string
	Direction       Direction
	Type            DocType
	Subject         string
	Urgency         Urgency
	Confidentiality Confidentiality
	DraftingUnit    string
	Status          Status
	Drafter         string
	Signer          string
	SignedBy        string
	Handler         string
	Version         int
	Year            int
	Number          int64
	Symbol          string
	IssuedAt        time.Time
	Due             time.Time // zero: none
	FromPeer        string
	FromAgency      string
	FromSymbol      string
	EnvelopeID      string
	Traces          []string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	Recipients      []Recipient
}

// maxSubject bounds a subject (trích yếu) in runes.
const maxSubject = 1000

// checkText accepts a non-empty line of printable text.
func checkText(s string, max int) bool {
	if strings.TrimSpace(s) == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// validate checks what a drafter or an import gives.
func (d *Document) validate() error {
	if !checkText(d.Subject, maxSubject) {
		return kernel.E(kernel.Invalid, "edoc.error.bad_subject")
	}
	if _, ok := docTypes[d.Type]; !ok {
		return kernel.E(kernel.Invalid, "edoc.error.bad_type")
	}
	if d.Urgency == "" {
		d.Urgency = Normal
	}
	switch d.Urgency {
	case Normal, Urgent, Express, Flash:
	default:
		return kernel.E(kernel.Invalid, "edoc.error.bad_urgency")
	}
	if d.Confidentiality == "" {
		d.Confidentiality = Public
	}
	switch d.Confidentiality {
	case Public, Restricted, Secret, TopSecret:
	default:
		return kernel.E(kernel.Invalid, "edoc.error.bad_confidentiality")
	}
	if d.DraftingUnit == "" {
		d.DraftingUnit = "VP"
	}
	if !codeOK(d.DraftingUnit) || len(d.DraftingUnit) > 16 {
		return kernel.E(kernel.Invalid, "edoc.error.bad_drafting_unit")
	}
	if len(d.Recipients) == 0 || len(d.Recipients) > 200 {
		return kernel.E(kernel.Invalid, "edoc.error.bad_recipient")
	}
	for _, t := range d.Traces {
		if !checkText(t, 100) {
			return kernel.E(kernel.Invalid, "edoc.error.bad_trace")
		}
	}
	return nil
}

// AgencyAbbrev is the agency's part of a symbol: the last segment of its
// code (the code of a commune's people's committee ends in .UBND).
func AgencyAbbrev(agency string) string {
	return agency[strings.LastIndexByte(agency, '.')+1:]
}

// Symbol is the number and symbol (số, ký hiệu) in the form of Decree 30
// Article 15: "123/QĐ-UBND"; an official letter "123/UBND-VP".
func Symbol(number int64, t DocType, agency, draftingUnit string) string {
	n := strconv.FormatInt(number, 10)
	if t == OfficialLetter {
		return n + "/" + AgencyAbbrev(agency) + "-" + draftingUnit
	}
	return n + "/" + string(t) + "-" + AgencyAbbrev(agency)
}

// isPDF checks a file's magic.
func isPDF(b []byte) bool { return len(b) > 5 && string(b[:5]) == "%PDF-" }

// maxFile bounds one file; maxFiles the attachments.
const (
	maxFile  = 50 << 20
	maxFiles = 20
)

func checkFiles(main File, attach []File) error {
	if !isPDF(main.Data) || len(main.Data) > maxFile || !checkText(main.Name, 200) {
		return kernel.E(kernel.Invalid, "edoc.error.bad_main_file")
	}
	if len(attach) > maxFiles {
		return kernel.E(kernel.Invalid, "edoc.error.bad_attachment")
	}
	for _, f := range attach {
		if len(f.Data) == 0 || len(f.Data) > maxFile || !checkText(f.Name, 200) {
			return kernel.E(kernel.Invalid, "edoc.error.bad_attachment")
		}
	}
	return nil
}
