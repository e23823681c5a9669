// Package pdf reads the structure of PDF files and adds signatures to them by
// incremental update (ISO 32000-1 §7.5.6 and §12.8, PAdES as in ETSI EN 319 142-1).
//
// It owns the PDF side of signing only: finding the catalog, the pages and the
// form, writing a signature field, a signature dictionary with a reserved
// /Contents, a new cross-reference section, and hashing the signed byte ranges.
// The CMS (or time-stamp token) that goes into /Contents comes from a function
// the caller passes in; this package never builds or checks CMS.
//
// A signature may be visible (appearance.go): a box with text lines and a
// seal image, in a TrueType font embedded as a subset (font.go), with
// Vietnamese composed to NFC and Arabic shaped and laid out right to left
// (shape.go). Fonts and images are parsed with the same limits as files.
//
// It must never change a byte of the file it is given (earlier signatures
// cover those bytes), never hold a whole large file in memory (files are read
// through io.ReaderAt in chunks), and never panic or loop on hostile input:
// every parser here has limits on depth, size and chain length. It does not
// reconstruct broken cross-reference tables and does not open encrypted files.
package pdf
