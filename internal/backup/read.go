package backup

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"

	"civitas/internal/kernel"
)

// counting counts the encrypted bytes read, to say where a problem is.
type counting struct {
	r    io.Reader
	n    int64
	eof  bool
	head []byte // the first bytes, to tell an age file
}

// ageIntro begins every age file.
const ageIntro = "age-encryption.org/v1\n"

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if len(c.head) < len(ageIntro) {
		c.head = append(c.head, p[:min(n, len(ageIntro)-len(c.head))]...)
	}
	c.n += int64(n)
	if err == io.EOF {
		c.eof = true
	}
	return n, err
}

// mib writes a size as operators read it.
func mib(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

// decrypter is the plain side of the age layer, its errors said as
// problems of the backup.
type decrypter struct {
	r   io.Reader
	src *counting
}

func (d *decrypter) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err == nil || err == io.EOF {
		return n, err
	}
	return n, d.problem(err)
}

// problem names what an error of age's STREAM means for the file: a stream
// that stops before its last chunk was cut; a chunk that fails
// authentication at the end of the file was cut inside a chunk (or its
// last bytes changed), anywhere else it was changed.
func (d *decrypter) problem(err error) error {
	switch msg := err.Error(); {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return kernel.E(kernel.Invalid, "backup.error.truncated", mib(d.src.n))
	case strings.Contains(msg, "failed to decrypt and authenticate"):
		if d.src.eof {
			return kernel.E(kernel.Invalid, "backup.error.truncated", mib(d.src.n))
		}
		return kernel.E(kernel.Invalid, "backup.error.altered", mib(d.src.n))
	case strings.Contains(msg, "trailing data"):
		return kernel.E(kernel.Invalid, "backup.error.trailing")
	}
	return kernel.Wrap(err, "backup: read")
}

// decrypt opens the age layer of r with the identities.
func decrypt(r io.Reader, ids []age.Identity) (*decrypter, error) {
	if len(ids) == 0 {
		return nil, kernel.E(kernel.Invalid, "backup.error.no_identity")
	}
	src := &counting{r: r}
	plain, err := age.Decrypt(src, ids...)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		switch {
		case errors.As(err, &nomatch):
			return nil, kernel.E(kernel.Forbidden, "backup.error.identity").WithCause(err)
		case src.n == 0:
			return nil, kernel.E(kernel.Invalid, "backup.error.empty")
		case string(src.head) != ageIntro:
			return nil, kernel.E(kernel.Invalid, "backup.error.not_age").WithCause(err)
		case src.eof && !strings.Contains(err.Error(), "bad header MAC"):
			return nil, kernel.E(kernel.Invalid, "backup.error.truncated", mib(src.n))
		}
		// An age file whose header does not parse or authenticate.
		return nil, kernel.E(kernel.Invalid, "backup.error.header").WithCause(err)
	}
	return &decrypter{r: plain, src: src}, nil
}

// Visit receives each member's content as it is read; what it does not
// read is read for it, to check the hash.
type Visit func(name string, size int64, body io.Reader) error

// Read decrypts r, walks the archive calling visit for every member but
// the manifest, and checks the manifest against what was read: every
// member there with its size and SHA-256, none missing, none added. The
// manifest comes last, so visit sees content before it is vouched for:
// restore writes into a scratch place until Read returns nil.
func Read(ctx context.Context, r io.Reader, ids []age.Identity, visit Visit) (Manifest, error) {
	d, err := decrypt(r, ids)
	if err != nil {
		return Manifest{}, err
	}
	return readArchive(ctx, d, func() int64 { return d.src.n }, visit)
}

// readArchive walks the plain archive in d (pos says how far into the
// encrypted file it has read, for problems' names) as Read describes.
func readArchive(ctx context.Context, d io.Reader, pos func() int64, visit Visit) (Manifest, error) {
	tr := tar.NewReader(d)
	read := map[string]Member{}
	var order []string
	var m *Manifest
	for {
		if err := ctx.Err(); err != nil {
			return Manifest{}, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Manifest{}, archiveError(err, pos)
		}
		if m != nil {
			return Manifest{}, kernel.E(kernel.Invalid, "backup.error.after_manifest", fmt.Sprintf("%q", hdr.Name))
		}
		if hdr.Typeflag != tar.TypeReg || sparse(hdr) {
			return Manifest{}, kernel.E(kernel.Invalid, "backup.error.member_type", fmt.Sprintf("%q", hdr.Name))
		}
		if hdr.Name == ManifestName {
			b, err := io.ReadAll(io.LimitReader(tr, maxManifest+1))
			if err != nil {
				return Manifest{}, archiveError(err, pos)
			}
			if len(b) > maxManifest {
				return Manifest{}, kernel.E(kernel.Invalid, "backup.error.manifest", "too large")
			}
			parsed, err := ParseManifest(b)
			if err != nil {
				return Manifest{}, err
			}
			m = &parsed
			continue
		}
		if err := CheckName(hdr.Name); err != nil {
			return Manifest{}, err
		}
		if _, dup := read[hdr.Name]; dup {
			return Manifest{}, kernel.E(kernel.Invalid, "backup.error.member_twice", hdr.Name)
		}
		h := sha256.New()
		body := &countedBody{r: io.TeeReader(tr, h)}
		if visit != nil {
			if err := visit(hdr.Name, hdr.Size, body); err != nil {
				return Manifest{}, archiveError(err, pos)
			}
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return Manifest{}, archiveError(err, pos)
		}
		read[hdr.Name] = Member{Name: hdr.Name, Size: body.n, SHA256: hex.EncodeToString(h.Sum(nil))}
		order = append(order, hdr.Name)
	}
	// The tar end is not the stream's end: read on, so the last chunk's
	// authentication and its end-of-stream mark are checked too.
	if _, err := io.Copy(io.Discard, d); err != nil {
		return Manifest{}, err
	}
	if m == nil {
		return Manifest{}, kernel.E(kernel.Invalid, "backup.error.no_manifest", mib(pos()))
	}
	for _, want := range m.Members {
		got, ok := read[want.Name]
		switch {
		case !ok:
			return Manifest{}, kernel.E(kernel.Invalid, "backup.error.member_missing", want.Name)
		case got.Size != want.Size:
			return Manifest{}, kernel.E(kernel.Invalid, "backup.error.member_size", want.Name, got.Size, want.Size)
		case got.SHA256 != want.SHA256:
			return Manifest{}, kernel.E(kernel.Invalid, "backup.error.member_hash", want.Name)
		}
	}
	for _, name := range order {
		if _, ok := m.Member(name); !ok {
			return Manifest{}, kernel.E(kernel.Invalid, "backup.error.member_unlisted", name)
		}
	}
	return *m, nil
}

// archiveError says what a failure while walking the archive means: the
// decrypter's own problem when it has one, a damaged archive otherwise.
func archiveError(err error, pos func() int64) error {
	var ke *kernel.Error
	if errors.As(err, &ke) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, tar.ErrHeader) {
		return kernel.E(kernel.Invalid, "backup.error.archive", mib(pos())).WithCause(err)
	}
	return err
}

// countedBody counts what a member's reader gave.
type countedBody struct {
	r io.Reader
	n int64
}

func (c *countedBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// sparse reports a member in GNU's sparse format: a few bytes of it would
// read as terabytes of zeros, and civitas never writes one.
func sparse(h *tar.Header) bool {
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}
