// Package backup makes, checks and restores civitas backups: one file that
// holds everything a province needs to start again on a new machine — the
// database as one moment saw it (SQLite's pages read inside one snapshot
// while serve goes on writing, or PostgreSQL through pg_dump in custom
// format on an exported snapshot) and the files of the data directory
// (document types and whatever capabilities keep there) — encrypted to one
// or more age recipients (age-encryption.org/v1, X25519), so that a stolen
// backup reveals nothing to whoever lacks an identity.
//
// Inside the encryption is a tar archive: its members, then MANIFEST.json,
// which lists every member with its size and SHA-256, the head of the
// audit chain and the newest signed checkpoint at the snapshot, the schema
// version, and — when the key-encryption key was at hand — an HMAC under a
// key derived from it, so the holder of that key knows the backup is one
// of theirs and not one made by anyone holding the (public) recipient.
// age's STREAM authenticates every 64 KiB chunk and marks the last, so a
// changed byte or a cut file is found; the manifest then finds a member
// missing, added, cut or changed inside an otherwise well-encrypted file.
// Reading names the problem ("backup truncated after 12.3 MiB", "member
// db/civitas.db: SHA-256 differs").
//
// Restore writes into a new directory (or an empty PostgreSQL database)
// only what the manifest vouches for, proves the audit chain intact and
// ending at the head the manifest recorded, and only then moves the
// directory into place. A restore drill (Verify) does the same in a
// scratch directory.
//
// It must never put the key-encryption key in a backup (the file named by
// --key-file and DATA/secret.key are always left out), never write a
// backup or a member in plain text anywhere but a private temporary file
// of the machine that holds the database, never restore over existing
// data, and never act for anyone but an operator at the command line or
// the scheduled job.
package backup
