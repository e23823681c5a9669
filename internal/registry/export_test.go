package registry

// PopulationScan is populationScan for the external tests.
var PopulationScan = (*Service).populationScan
