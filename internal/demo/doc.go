// Package demo builds a deterministic synthetic province, "Tỉnh Sông Xanh",
// for demos, tests and benchmarks: administrative units, agencies, officials,
// households and a population with a realistic age pyramid, Vietnamese names
// and valid citizen ID numbers. The same seed and size give the same data.
//
// Its province code, 099, belongs to no real province, so a demo citizen ID
// can never be a real person's. It must never be loaded into a database that
// already holds people: Load refuses.
package demo
