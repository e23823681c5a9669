package wallet

import (
	"strings"
	"testing"
)

// The list's cards are escaped by hand: nothing a registry or a type file
// holds may reach the page as markup.
func TestCardEscapes(t *testing.T) {
	v := docView{ID: `x"><script>`, TypeName: `<b>Thẻ</b>`, AgencyName: `BHXH & "Sở" <i>`, Status: "valid", StatusText: "<ok>",
		Expires: "26/11/2036", ExpiresISO: `2036"`, Hidden: true}
	got := string(v.card(&cardLabels{Agency: "<a>", Status: "S", Expires: "E", Hidden: "<h>", NoExpiry: "-"}))
	for _, bad := range []string{"<script>", "<b>", "<i>", "<ok>", "<a>", "<h>", `2036""`} {
		if strings.Contains(got, bad) {
			t.Errorf("%q reaches the page:\n%s", bad, got)
		}
	}
	for _, want := range []string{"&lt;b&gt;Thẻ&lt;/b&gt;", "BHXH &amp; &#34;Sở&#34; &lt;i&gt;", `href="/wallet/x%22%3E%3Cscript%3E"`} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in:\n%s", want, got)
		}
	}
}
