package payment

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"civitas/internal/kernel"
)

// StatementLine is one line of a bank statement: money into (or, negative,
// out of) an agency's account on a day.
type StatementLine struct {
	Line        int    // in the file, the header being line 1
	Day         string // value date, YYYY-MM-DD
	Amount      int64  // VND
	BankTxn     string // the bank's transaction number
	Description string
	// Candidates are the order references the line may name: its
	// reference column, then every reference-shaped word of its
	// description. The importer keeps the first that is an order's.
	Candidates []string
}

// Limits of a statement file.
const (
	MaxStatementBytes = 64 << 20
	maxStatementField = 2000
)

// The columns a statement names in its header line, by what they mean.
// Names are compared without case, diacritics or punctuation, so the
// Vietnamese headers of bank exports ("Ngày giao dịch", "Số tiền ghi có",
// "Nội dung") are read as well as the English ones.
var statementColumns = map[string][]string{
	"date":        {"date", "value_date", "valuedate", "transaction_date", "ngay", "ngay_giao_dich", "ngay_hieu_luc"},
	"amount":      {"amount", "credit", "so_tien", "so_tien_ghi_co", "ghi_co"},
	"debit":       {"debit", "so_tien_ghi_no", "ghi_no"},
	"currency":    {"currency", "ccy", "loai_tien", "tien_te"},
	"bank_txn":    {"transaction_id", "txn_id", "bank_ref", "bank_reference", "reference_number", "so_tham_chieu", "ma_giao_dich", "so_but_toan"},
	"description": {"description", "details", "content", "noi_dung", "dien_giai", "mo_ta"},
	"reference":   {"reference", "order_reference", "payment_reference", "ma_thanh_toan"},
}

func columnName(h string) string {
	h = strings.ToLower(ASCIIText(h, 100))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

// ParseStatement reads a bank statement in CSV (comma or semicolon
// separated, UTF-8 with or without a byte-order mark): a header line that
// names the columns, then a line per transaction. A date, an amount in
// dong (with "." or "," between thousands; a decimal part only of zeros)
// and a description or reference are needed; a currency column, when
// there is one, must say VND. Any line it cannot read is an Invalid error
// naming the line, and nothing of the file is used.
func ParseStatement(r io.Reader) ([]StatementLine, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxStatementBytes+1))
	if err != nil {
		return nil, kernel.Wrap(err, "payment: statement")
	}
	if len(data) > MaxStatementBytes {
		return nil, kernel.E(kernel.Invalid, "payment.error.statement.too_large", MaxStatementBytes>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	first, _, _ := bytes.Cut(data, []byte("\n"))
	cr := csv.NewReader(bufio.NewReader(bytes.NewReader(data)))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, kernel.E(kernel.Invalid, "payment.error.statement.empty")
	}
	if err != nil {
		return nil, csvError(err)
	}
	col := map[string]int{}
	for i, h := range header {
		name := columnName(h)
		for meaning, names := range statementColumns {
			for _, n := range names {
				if name == n {
					if _, dup := col[meaning]; !dup {
						col[meaning] = i
					}
				}
			}
		}
	}
	if _, ok := col["date"]; !ok {
		return nil, kernel.E(kernel.Invalid, "payment.error.statement.column", "date")
	}
	_, credit := col["amount"]
	_, debit := col["debit"]
	if !credit && !debit {
		return nil, kernel.E(kernel.Invalid, "payment.error.statement.column", "amount")
	}
	_, desc := col["description"]
	_, ref := col["reference"]
	if !desc && !ref {
		return nil, kernel.E(kernel.Invalid, "payment.error.statement.column", "description")
	}
	field := func(rec []string, meaning string) string {
		if i, ok := col[meaning]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []StatementLine
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(rec) != len(header) {
			return nil, kernel.E(kernel.Invalid, "payment.error.statement.fields", line, len(rec), len(header))
		}
		for _, f := range rec {
			if len(f) > maxStatementField {
				return nil, kernel.E(kernel.Invalid, "payment.error.statement.field_long", line)
			}
		}
		l := StatementLine{Line: line, BankTxn: field(rec, "bank_txn"), Description: field(rec, "description")}
		raw := field(rec, "date")
		day, ok := parseDay(raw)
		if !ok {
			return nil, kernel.E(kernel.Invalid, "payment.error.statement.date", line, clip(raw))
		}
		l.Day = day
		if c := field(rec, "currency"); c != "" && !strings.EqualFold(c, "VND") && c != CurrencyVND {
			return nil, kernel.E(kernel.Invalid, "payment.error.statement.currency", line, clip(c))
		}
		in, out2 := field(rec, "amount"), field(rec, "debit")
		var amount int64
		switch {
		case in != "" && out2 != "" && !isZeroAmount(in) && !isZeroAmount(out2):
			return nil, kernel.E(kernel.Invalid, "payment.error.statement.amount", line, clip(in+" / "+out2))
		case in != "" && !isZeroAmount(in):
			if amount, ok = parseAmount(in); !ok {
				return nil, kernel.E(kernel.Invalid, "payment.error.statement.amount", line, clip(in))
			}
		case out2 != "" && !isZeroAmount(out2):
			if amount, ok = parseAmount(out2); !ok || amount < 0 {
				return nil, kernel.E(kernel.Invalid, "payment.error.statement.amount", line, clip(out2))
			}
			amount = -amount
		default:
			return nil, kernel.E(kernel.Invalid, "payment.error.statement.amount", line, clip(in+out2))
		}
		l.Amount = amount
		if r := strings.ToUpper(field(rec, "reference")); r != "" {
			l.Candidates = append(l.Candidates, r)
		}
		l.Candidates = append(l.Candidates, referencesIn(l.Description)...)
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, kernel.E(kernel.Invalid, "payment.error.statement.empty")
	}
	return out, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return kernel.E(kernel.Invalid, "payment.error.statement.csv", pe.StartLine).WithCause(err)
	}
	return kernel.E(kernel.Invalid, "payment.error.statement.csv", 0).WithCause(err)
}

// clip keeps what an error quotes of a line short.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// parseDay reads YYYY-MM-DD, DD/MM/YYYY or DD-MM-YYYY (days and months of
// one digit too), with any time after a space or a T ignored.
func parseDay(s string) (string, bool) {
	s, _, _ = strings.Cut(strings.TrimSpace(s), " ")
	if len(s) > 10 && s[10] == 'T' {
		s = s[:10]
	}
	for _, layout := range []string{"2006-01-02", "02/01/2006", "2/1/2006", "02-01-2006", "2-1-2006"} {
		if t, err := time.Parse(layout, s); err == nil && t.Year() >= 2000 && t.Year() < 2200 {
			return t.Format(time.DateOnly), true
		}
	}
	return "", false
}

// parseAmount reads whole dong: digits in groups of three separated by
// ".", "," or spaces (or no separator), a sign, and a decimal part only
// of zeros (",00" or ".00"), which exports of dong carry.
func parseAmount(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	for _, zeros := range []string{".00", ",00", ".0", ",0"} {
		if cut, ok := strings.CutSuffix(s, zeros); ok && cut != "" {
			// "1.000,00": the decimal separator differs from the
			// thousands one; "1,00" is one dong.
			if sep := zeros[0]; !strings.ContainsRune(cut, rune(sep)) {
				s = cut
				break
			}
		}
	}
	groups := strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == ',' || r == ' ' || r == '\u00a0' })
	if len(groups) == 0 {
		return 0, false
	}
	if len(groups) > 1 {
		seps := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return -1
			}
			return r
		}, s)
		if strings.Trim(seps, seps[:1]) != "" { // one kind of separator only
			return 0, false
		}
		for i, g := range groups {
			if !isDigits(g) || (i == 0 && len(g) > 3) || (i > 0 && len(g) != 3) {
				return 0, false
			}
		}
	} else if !isDigits(groups[0]) {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.Join(groups, ""), 10, 64)
	if err != nil || n > 1_000_000_000_000_000 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func isZeroAmount(s string) bool {
	n, ok := parseAmount(s)
	return ok && n == 0
}

// referencesIn finds the reference-shaped words of a statement's free
// text: "CV" and ten characters of the reference alphabet, found even
// when the bank glued words together or changed their case.
func referencesIn(s string) []string {
	var b strings.Builder
	for _, r := range strings.ToUpper(ASCIIText(s, maxStatementField)) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	t := b.String()
	var out []string
	for i := 0; i+referenceLen <= len(t); i++ {
		if t[i:i+2] != referencePrefix {
			continue
		}
		cand := t[i : i+referenceLen]
		if strings.Trim(cand[2:], referenceAlphabet) == "" {
			out = append(out, cand)
		}
	}
	return out
}
