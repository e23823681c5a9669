package payment

import "testing"

func TestAmountInWords(t *testing.T) {
	for n, want := range map[int64]string{
		0:             "Không đồng",
		5:             "Năm đồng",
		10:            "Mười đồng",
		15:            "Mười lăm đồng",
		21:            "Hai mươi mốt đồng",
		25:            "Hai mươi lăm đồng",
		101:           "Một trăm linh một đồng",
		105:           "Một trăm linh năm đồng",
		110:           "Một trăm mười đồng",
		111:           "Một trăm mười một đồng",
		115:           "Một trăm mười lăm đồng",
		1_000:         "Một nghìn đồng",
		8_000:         "Tám nghìn đồng",
		20_000:        "Hai mươi nghìn đồng",
		50_000:        "Năm mươi nghìn đồng",
		100_000:       "Một trăm nghìn đồng",
		105_000:       "Một trăm linh năm nghìn đồng",
		250_500:       "Hai trăm năm mươi nghìn năm trăm đồng",
		1_000_500:     "Một triệu năm trăm đồng",
		1_005_000:     "Một triệu không trăm linh năm nghìn đồng",
		1_250_000:     "Một triệu hai trăm năm mươi nghìn đồng",
		2_000_015:     "Hai triệu không trăm mười lăm đồng",
		1_000_000_000: "Một tỷ đồng",
		1_234_567_891: "Một tỷ hai trăm ba mươi bốn triệu năm trăm sáu mươi bảy nghìn tám trăm chín mươi mốt đồng",
	} {
		if got := AmountInWords(n); got != want {
			t.Errorf("AmountInWords(%d) = %q, want %q", n, got, want)
		}
	}
}
