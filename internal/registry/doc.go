// Package registry holds the national and provincial registries as civitas
// sees them: administrative units (province, districts, communes/wards),
// households, the population registry (persons by their 12-digit citizen ID
// number), agencies and their officials, the business registry, the
// health-insurance registry (one card per person) and the vehicle registry
// (vehicles by number plate).
//
// It owns those tables and the rules on their data (what a valid citizen ID
// or number plate is, how units nest). It must never log or show personal data beyond what
// the caller asked for, and it does not decide who may read: the exchange
// layer and the capabilities above it check purpose and rights and audit.
package registry
