// Package pades signs PDF documents at the PAdES baseline levels B-B, B-T,
// B-LT and B-LTA (ETSI EN 319 142-1) and validates signed PDFs and detached
// CMS (.p7s) signatures, so that citizens and agencies can sign and anyone
// can check what was signed.
//
// It owns the order of the steps and the judgement: which CMS goes into
// which PDF update, when to time-stamp, what validation data go into the
// DSS, and, when validating, whether each signature passes, fails or cannot
// be decided, with a message key for each reason. The PDF structure is
// internal/pdf's, the CMS encoding and checks internal/cms's; keys,
// time-stamps and revocation evidence come from the caller through small
// interfaces.
//
// It must never hold a whole PDF in memory (files are streamed through
// io.ReaderAt and io.WriterAt), never trust the system's roots (only the
// anchors the caller gives), never panic on hostile input (Validate reads
// files strangers send), and never call a signature valid when a check could
// not be made: what cannot be decided is INDETERMINATE.
package pades
