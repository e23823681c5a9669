// Package config turns command-line flags and the environment into a
// validated Config. Together with cmd/, it is the only code that reads flags
// or environment variables; everything else receives values.
//
// Every flag --name can also be given as CIVITAS_NAME (dashes become
// underscores), and as CIVITAS_NAME_FILE naming a file that holds the value,
// for secrets. An explicit flag wins over the environment.
package config
