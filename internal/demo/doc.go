// Package demo builds a deterministic synthetic province for demos, tests
// and benchmarks: by default "Tỉnh Sông Xanh" (code 099), or another of
// ProvinceCodes (098 "Tỉnh Đồi Thông", 097 "Tỉnh Biển Bạc") so that two
// civitas installations can run side by side without sharing an
// identifier. A province has its administrative units with boundaries
// (where Dak Lak lies, for 099: the point 12.68 N, 108.05 E is in its
// city), residential areas, agencies of every capability and their
// officials, households and a population with a realistic age pyramid,
// Vietnamese names and valid citizen ID numbers, and the registries about
// them: residence, civil status, land, health insurance, vehicles,
// businesses and schools. The same seed and size give the same data.
//
// Each registry draws from a random source of its own, so adding one
// changes none of the others: the persons, cards and vehicles of a seed
// stay those they were before the other registries existed.
//
// Its province codes belong to no real province (real citizen IDs start
// 001 to 096), so a demo citizen ID can never be a real person's. It must
// never be loaded into a database that already holds people: Load refuses.
package demo
