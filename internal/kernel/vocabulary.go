package kernel

import "time"

// Assurance levels of a login, as OpenID Connect `acr` values. Level 1 is a
// self-registered account matched against the population registry; level 2
// was verified in person at a support point and logged in with two factors.
const (
	ACRLevel1 = "urn:civitas:acr:level1"
	ACRLevel2 = "urn:civitas:acr:level2"
)

// AtLeastLevel2 reports whether an acr value reaches level 2.
func AtLeastLevel2(acr string) bool { return acr == ACRLevel2 }

// provinceZone is the province's civil time: Vietnam keeps UTC+7 all year,
// without daylight saving.
var provinceZone = time.FixedZone("UTC+7", 7*60*60)

// Zone returns the province's time zone, in which pages show times and
// days (deadlines, "today's figures") are counted.
func Zone() *time.Location { return provinceZone }
