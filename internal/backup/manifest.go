package backup

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"civitas/internal/kernel"
)

// Format names the layout this package writes and reads.
const Format = "civitas-backup/1"

// ManifestName is the archive's last member.
const ManifestName = "MANIFEST.json"

// Member names inside the archive: the database, then the data directory's
// files under DataPrefix.
const (
	SQLiteMember   = "db/civitas.db"
	PostgresMember = "db/postgres.dump"
	DataPrefix     = "data/"
)

// maxManifest bounds the manifest read into memory: a few hundred bytes a
// member, and a data directory holds thousands of files at most.
const maxManifest = 16 << 20

// Member is one file of the archive as the manifest vouches for it.
type Member struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// AuditState is the audit chain as the snapshot saw it: its head and the
// newest signed checkpoint (zero when none was made yet).
type AuditState struct {
	HeadSeq        int64     `json:"head_seq"`
	HeadHash       string    `json:"head_hash"`
	CheckpointSeq  int64     `json:"checkpoint_seq"`
	CheckpointHash string    `json:"checkpoint_hash,omitempty"`
	CheckpointAt   time.Time `json:"checkpoint_at,omitzero"`
}

// Manifest describes a backup.
type Manifest struct {
	Format  string    `json:"format"`
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	// Version is the civitas build that made it.
	Version string `json:"civitas_version"`
	// Dialect is the database engine ("sqlite" or "postgres").
	Dialect string `json:"dialect"`
	// Schema is the newest migration applied to the database.
	Schema  string     `json:"schema"`
	Audit   AuditState `json:"audit"`
	Members []Member   `json:"members"`
	// KEKID names the key-encryption key the province's secrets are sealed
	// under (a hash of it, never the key): restore tells the operator which
	// key to bring. Empty when the key was not at hand.
	KEKID string `json:"kek_id,omitempty"`
	// MAC is HMAC-SHA-256 of the manifest without it, under a key derived
	// from the key-encryption key; empty without the key.
	MAC string `json:"mac,omitempty"`
}

// Member returns the manifest's member called name.
func (m *Manifest) Member(name string) (Member, bool) {
	for _, x := range m.Members {
		if x.Name == name {
			return x, true
		}
	}
	return Member{}, false
}

// Size is the sum of the members' sizes.
func (m *Manifest) Size() int64 {
	var n int64
	for _, x := range m.Members {
		n += x.Size
	}
	return n
}

// KEKID returns the public name of a key-encryption key.
func KEKID(kek []byte) string {
	h := sha256.New()
	h.Write([]byte("civitas-kek-id-v1\x00"))
	h.Write(kek)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// macKey derives the manifest's MAC key from the key-encryption key, so the
// key itself is used for one purpose only.
func macKey(kek []byte) []byte {
	m := hmac.New(sha256.New, kek)
	m.Write([]byte("civitas-backup-manifest-mac-v1"))
	return m.Sum(nil)
}

// mac computes the manifest's MAC over its encoding with MAC empty.
func (m Manifest) mac(kek []byte) (string, error) {
	m.MAC = ""
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	h := hmac.New(sha256.New, macKey(kek))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Seal sets KEKID and MAC with the key-encryption key.
func (m *Manifest) Seal(kek []byte) error {
	m.KEKID = KEKID(kek)
	mac, err := m.mac(kek)
	if err != nil {
		return err
	}
	m.MAC = mac
	return nil
}

// CheckMAC reports whether the manifest was sealed with kek: Unauthenticated
// when it carries no MAC, Invalid when the key is another or the MAC does
// not match.
func (m *Manifest) CheckMAC(kek []byte) error {
	if m.MAC == "" {
		return kernel.E(kernel.Unauthenticated, "backup.error.no_mac")
	}
	if m.KEKID != KEKID(kek) {
		return kernel.E(kernel.Invalid, "backup.error.other_kek", m.KEKID, KEKID(kek))
	}
	want, err := m.mac(kek)
	if err != nil {
		return kernel.Wrap(err, "backup: manifest MAC")
	}
	if !hmac.Equal([]byte(want), []byte(m.MAC)) {
		return kernel.E(kernel.Invalid, "backup.error.mac")
	}
	return nil
}

// ParseManifest reads and checks a manifest: its format, and that every
// member name is one a restore may write.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, kernel.E(kernel.Invalid, "backup.error.manifest", err.Error())
	}
	if dec.More() {
		return Manifest{}, kernel.E(kernel.Invalid, "backup.error.manifest", "data after the manifest")
	}
	if m.Format != Format {
		return Manifest{}, kernel.E(kernel.Invalid, "backup.error.format", m.Format)
	}
	if m.Dialect != "sqlite" && m.Dialect != "postgres" {
		return Manifest{}, kernel.E(kernel.Invalid, "backup.error.manifest", "unknown dialect")
	}
	seen := make(map[string]bool, len(m.Members))
	dbs := 0
	for _, x := range m.Members {
		if err := CheckName(x.Name); err != nil {
			return Manifest{}, err
		}
		if seen[x.Name] {
			return Manifest{}, kernel.E(kernel.Invalid, "backup.error.manifest", "member "+x.Name+" listed twice")
		}
		seen[x.Name] = true
		if x.Size < 0 || len(x.SHA256) != 64 || strings.Trim(x.SHA256, "0123456789abcdef") != "" {
			return Manifest{}, kernel.E(kernel.Invalid, "backup.error.manifest", "member "+x.Name+" has no size or SHA-256")
		}
		if strings.HasPrefix(x.Name, "db/") {
			dbs++
		}
	}
	want := SQLiteMember
	if m.Dialect == "postgres" {
		want = PostgresMember
	}
	if !seen[want] || dbs != 1 {
		return Manifest{}, kernel.E(kernel.Invalid, "backup.error.manifest", "no "+want)
	}
	return m, nil
}

// CheckName accepts the member names a backup may hold: the manifest, the
// database member of either dialect, and relative, clean paths under
// DataPrefix. Anything that could climb out of the directory restored into
// is refused.
func CheckName(name string) error {
	switch name {
	case SQLiteMember, PostgresMember:
		return nil
	}
	rel, ok := strings.CutPrefix(name, DataPrefix)
	bad := !ok || rel == "" || path.Clean(rel) != rel || path.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") ||
		strings.ContainsAny(rel, "\\\x00") || strings.HasSuffix(rel, "/")
	switch rel {
	case "civitas.db", "civitas.db-wal", "civitas.db-shm", "civitas.db-journal":
		bad = true // a data file never stands where the database does
	}
	if !bad {
		for _, part := range strings.Split(rel, "/") {
			if part == "." || part == ".." || part == "" {
				bad = true
			}
		}
	}
	if bad {
		return kernel.E(kernel.Invalid, "backup.error.member_name", fmt.Sprintf("%q", name))
	}
	return nil
}
