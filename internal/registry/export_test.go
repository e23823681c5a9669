package registry

import "civitas/internal/db"

// PopulationScan is populationScan for the external tests.
var PopulationScan = (*Service).populationScan

// CellTriggers gives the tests the triggers a bulk load drops and puts back.
func CellTriggers(dialect db.Dialect) []struct{ Name, Def string } {
	var out []struct{ Name, Def string }
	for _, tr := range cellTriggers[dialect] {
		out = append(out, struct{ Name, Def string }{tr.name, tr.def})
	}
	return out
}
