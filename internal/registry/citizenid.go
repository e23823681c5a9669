package registry

import (
	"time"

	"civitas/internal/kernel"
)

// CitizenID is a 12-digit personal identification number as printed on the
// chip citizen ID card (CCCD): PPP G YY NNNNNN —
// PPP the province (or country) where the birth was registered, G sex and
// century of birth (0/1 male/female born 1900–1999, 2/3 born 2000–2099,
// 4/5 born 2100–2199), YY the last two digits of the birth year, and
// NNNNNN a serial number.
type CitizenID struct {
	Province string
	Sex      Sex
	// Year is the full birth year the number encodes.
	Year   int
	Serial string
}

// ParseCitizenID checks the form of a citizen ID number and decodes it.
func ParseCitizenID(s string) (CitizenID, error) {
	if len(s) != 12 || !isDigits(s) {
		return CitizenID{}, kernel.E(kernel.Invalid, "error.registry.bad_citizen_id")
	}
	g := int(s[3] - '0')
	if g > 5 {
		return CitizenID{}, kernel.E(kernel.Invalid, "error.registry.bad_citizen_id")
	}
	sex := Male
	if g%2 == 1 {
		sex = Female
	}
	year := 1900 + 100*(g/2) + int(s[4]-'0')*10 + int(s[5]-'0')
	return CitizenID{Province: s[:3], Sex: sex, Year: year, Serial: s[6:]}, nil
}

// CheckCitizenID checks that s is a well-formed citizen ID whose sex and
// century digit and year agree with born and sex.
func CheckCitizenID(s string, born time.Time, sex Sex) error {
	id, err := ParseCitizenID(s)
	if err != nil {
		return err
	}
	if id.Sex != sex || id.Year != born.Year() {
		return kernel.E(kernel.Invalid, "error.registry.citizen_id_mismatch")
	}
	return nil
}

// FormatCitizenID builds the number for a birth registered in province, for
// a person of the given sex born in year, with a serial below one million.
func FormatCitizenID(province string, sex Sex, year, serial int) string {
	g := 2 * ((year - 1900) / 100)
	if sex == Female {
		g++
	}
	b := []byte(province[:3] + "0" + "00" + "000000")
	b[3] = byte('0' + g)
	yy := year % 100
	b[4], b[5] = byte('0'+yy/10), byte('0'+yy%10)
	for i := 11; i >= 6; i-- {
		b[i] = byte('0' + serial%10)
		serial /= 10
	}
	return string(b)
}
