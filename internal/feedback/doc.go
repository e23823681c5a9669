// Package feedback is the citizens' channel to report a problem of their
// place — rubbish, a pothole, a broken street light, disorder — and follow
// it until it is fixed ("Digital Dak Lak" social sensing, FixMyStreet,
// Open311 GeoReport v2).
//
// A report has a category (data: names in vi, en and ar, a deadline, and
// whether it is sensitive), a point (picked on the map or given as an
// address in a commune), a description and up to five photos. The commune
// is found by point-in-polygon over the units' boundaries, and rules route
// the report to the agency responsible for that category there. Staff of
// that agency receive it, assign it to a handler or a team, transfer it,
// ask the reporter for information, answer publicly and resolve it with a
// photo of the fix; overdue reports show to the People's Committee of the
// unit above. The reporter — signed in with the e-ID, or anonymous with a
// tracking code — is told of every step, may reopen a report within 14
// days of its resolution, and rates the handling.
//
// The public sees every report of a category that is not sensitive on a
// map drawn on the server as SVG over the units' boundaries (no script, no
// tile server), in a table beside it, and through Open311 GeoReport v2 at
// /open311/v2/ (JSON and XML). Officials import planning layers as
// GeoJSON, and anyone asks what is planned at a point.
//
// Photos are decoded, checked against decompression bombs, re-encoded as
// JPEG (which drops every byte of metadata, EXIF GPS included), turned
// upright and thumbnailed, a bounded number at a time.
//
// It must never show a reporter's identity (account, name, phone, e-mail)
// on a public page or in an Open311 answer, never put a sensitive category
// on a public page or answer, never store an uploaded image as it came
// (only its re-encoding), never log a description, a tracking code or an
// API key, never let staff act on another agency's reports, and it records
// every staff action in the audit log. It imports no other capability: the
// units, the agencies and their staff, notifications and the data-use log
// come through the interfaces in service.go.
package feedback
