package payment

import "strings"

// AmountInWords writes an amount of dong in Vietnamese words as receipts
// and invoices state it: "Năm mươi nghìn đồng", "Một triệu không trăm linh
// năm nghìn đồng". Groups of three digits are read hundreds, tens and
// units ("linh" for a zero ten, "mười" for ten, "mốt" for a one after a
// ten of twenty or more, "lăm" for a five after any ten), then their
// scale (nghìn, triệu, tỷ, and nghìn tỷ beyond); an empty group is left
// out, and a group after the first is read with its hundreds even when
// they are zero.
func AmountInWords(n int64) string {
	if n == 0 {
		return "Không đồng"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	scales := []string{"", "nghìn", "triệu", "tỷ", "nghìn tỷ", "triệu tỷ", "tỷ tỷ"}
	var groups []int
	for n > 0 {
		groups = append(groups, int(n%1000))
		n /= 1000
	}
	var words []string
	for i := len(groups) - 1; i >= 0; i-- {
		g := groups[i]
		if g == 0 {
			continue
		}
		words = append(words, readGroup(g, i < len(groups)-1)...)
		if scales[i] != "" {
			words = append(words, scales[i])
		}
	}
	s := strings.Join(words, " ") + " đồng"
	if neg {
		s = "âm " + s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

var digitWords = [...]string{"không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"}

// readGroup reads 1 to 999; full reads a zero hundred ("không trăm") as a
// group after the first must.
func readGroup(g int, full bool) []string {
	h, t, u := g/100, g/10%10, g%10
	var w []string
	if h > 0 || full {
		w = append(w, digitWords[h], "trăm")
	}
	switch {
	case t == 0 && u == 0:
		return w
	case t == 0:
		if len(w) > 0 {
			w = append(w, "linh")
		}
	case t == 1:
		w = append(w, "mười")
	default:
		w = append(w, digitWords[t], "mươi")
	}
	switch {
	case u == 0:
	case u == 1 && t >= 2:
		w = append(w, "mốt")
	case u == 5 && t >= 1:
		w = append(w, "lăm")
	default:
		w = append(w, digitWords[u])
	}
	return w
}
