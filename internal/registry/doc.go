// Package registry holds the national and provincial registries as civitas
// sees them — the reference data every capability reads:
//
//   - units: administrative units (province, districts, communes/wards)
//     with their boundaries (UnitAt finds the commune at a place), and the
//     residential areas (villages, urban groups) inside the communes;
//   - agencies of every kind and their officials, with the roles document
//     work, schools and the community teams need; the catalogue of
//     registries says which agency owns each;
//   - population: persons by their 12-digit citizen ID number, households;
//   - residence: permanent and temporary residence, household heads and
//     relations to them, as a history;
//   - civil status: births, deaths, marriages, each numbered in the
//     registering agency's book of the year;
//   - land: parcels, their owners, land-use right certificates;
//   - insurance: one health-insurance card per person and its participant
//     group; vehicles by number plate;
//   - business: enterprises and household businesses;
//   - schools: schools, classes per school year, pupils and guardians.
//
// Every type documents its JSON field names: they are the vocabulary of the
// whole platform (citizen_id, full_name, birth_date, ...), the names the
// exchange, the wallet and the portal use, and never change once used.
// Reads are (*Service) methods; changes a capability makes (the portal
// registering a birth) are functions that run inside the caller's
// transaction — RegisterBirth(ctx, tx, ...) — and validate their input,
// so the capability writes its own record and audit entry in the same
// transaction.
//
// It owns those tables and the rules on their data (what a valid citizen ID,
// number plate or parcel ID is, how units nest, who may keep which book). It
// must never log or show personal data beyond what the caller asked for,
// and it does not decide who may read: the exchange layer and the
// capabilities above it check purpose and rights and audit. It imports no
// capability.
package registry
