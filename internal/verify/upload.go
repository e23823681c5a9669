package verify

import (
	"bytes"
	"encoding/pem"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"civitas/internal/kernel"
)

const (
	// sniffLen is how much of a file's start is kept to tell a PDF from a
	// .p7s: a PDF's header may come after up to 1024 bytes of junk.
	sniffLen = 1024
	// maxNameRunes bounds the file name shown back to the reader.
	maxNameRunes = 120
	// fieldFile and fieldContent are the form fields: the file to check
	// (a PDF or a .p7s), and the file a .p7s signs.
	fieldFile    = "file"
	fieldContent = "content"
)

// part is one uploaded file, in a temporary file of its own.
type part struct {
	f    *os.File
	size int64
	head []byte // the first sniffLen bytes at most
}

// upload is what a request brought. Its files are removed by remove,
// which every path calls: nothing uploaded is kept.
type upload struct {
	name    string // the checked file's name as sent, cleaned; shown, never logged
	file    *part
	content *part
}

func (u *upload) remove() {
	for _, p := range []*part{u.file, u.content} {
		if p != nil {
			p.f.Close()
			os.Remove(p.f.Name())
		}
	}
}

// signature reads a .p7s, DER or PEM, into memory (cms works on bytes;
// the body limit bounds it).
func (p *part) signature() ([]byte, error) {
	b := make([]byte, p.size)
	if _, err := p.f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, kernel.Wrap(err, "verify: read the signature")
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	if !looksLikeCMS(b) {
		return nil, kernel.E(kernel.Invalid, "verify.error.not_signature")
	}
	return b, nil
}

// receive stores the request's files in temporary files: the multipart
// fields "file" and "content", or, when raw is allowed, a body of type
// application/pdf. On error nothing is left behind.
func (s *service) receive(r *http.Request, raw bool) (u *upload, err error) {
	u = &upload{}
	defer func() {
		if err != nil {
			u.remove()
			u = nil
		}
	}()
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == "multipart/form-data" && r.MultipartForm != nil:
		err = s.fromForm(u, r.MultipartForm) // the CSRF check has parsed it
	case ct == "multipart/form-data":
		err = s.fromStream(u, r)
	case raw && ct == "application/pdf":
		if u.file, err = s.save(r.Body); err == nil && u.file == nil {
			err = kernel.E(kernel.Invalid, "verify.error.empty")
		}
	default:
		err = kernel.E(kernel.Invalid, "verify.error.content_type")
	}
	if err == nil && u.file == nil {
		err = kernel.E(kernel.Invalid, "verify.error.no_file")
	}
	return u, err
}

// fromForm takes the files from a form already parsed.
func (s *service) fromForm(u *upload, form *multipart.Form) error {
	for _, field := range []string{fieldFile, fieldContent} {
		fhs := form.File[field]
		if len(fhs) == 0 {
			continue
		}
		fh := fhs[0]
		if fh.Size > s.maxFile {
			return &http.MaxBytesError{Limit: s.maxFile}
		}
		rc, err := fh.Open()
		if err != nil {
			return kernel.Wrap(err, "verify: open the uploaded %s", field)
		}
		p, err := s.save(rc)
		rc.Close()
		if err := u.set(field, fh.Filename, p, err); err != nil {
			return err
		}
	}
	return nil
}

// fromStream reads the multipart body as it comes, straight to disk.
func (s *service) fromStream(u *upload, r *http.Request) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return kernel.E(kernel.Invalid, "verify.error.upload").WithCause(err)
	}
	for {
		mp, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return readError(err)
		}
		field := mp.FormName()
		if (field != fieldFile && field != fieldContent) || u.has(field) {
			if _, err := io.Copy(io.Discard, mp); err != nil {
				return readError(err)
			}
			continue
		}
		p, err := s.save(mp)
		if err := u.set(field, mp.FileName(), p, err); err != nil {
			return err
		}
	}
}

func (u *upload) has(field string) bool {
	if field == fieldFile {
		return u.file != nil
	}
	return u.content != nil
}

// set records a saved file. An empty "content" is a field left blank; an
// empty "file" is an error only when a file was chosen (it has a name).
func (u *upload) set(field, name string, p *part, err error) error {
	if err != nil {
		return err
	}
	if p == nil {
		if field == fieldFile && name != "" {
			return kernel.E(kernel.Invalid, "verify.error.empty")
		}
		return nil
	}
	if field == fieldFile {
		u.file, u.name = p, cleanName(name)
	} else {
		u.content = p
	}
	return nil
}

// save copies r to a new temporary file, at most maxFile bytes. An empty
// r gives no part and no error.
func (s *service) save(r io.Reader) (*part, error) {
	f, err := os.CreateTemp("", "civitas-verify-*")
	if err != nil {
		return nil, kernel.Wrap(err, "verify: temporary file")
	}
	p := &part{f: f}
	drop := func(err error) (*part, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	buf := make([]byte, 32<<10)
	lr := io.LimitReader(r, s.maxFile+1)
	for {
		n, rerr := lr.Read(buf)
		if n > 0 {
			if len(p.head) < sniffLen {
				p.head = append(p.head, buf[:min(n, sniffLen-len(p.head))]...)
			}
			if _, err := f.Write(buf[:n]); err != nil {
				return drop(kernel.Wrap(err, "verify: write the temporary file"))
			}
			p.size += int64(n)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return drop(readError(rerr))
		}
	}
	switch {
	case p.size > s.maxFile:
		return drop(&http.MaxBytesError{Limit: s.maxFile})
	case p.size == 0:
		return drop(nil)
	}
	return p, nil
}

// readError classifies a failure to read the request: over the server's
// body limit (413), else a broken upload (400).
func readError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return mbe
	}
	return kernel.E(kernel.Invalid, "verify.error.upload").WithCause(err)
}

// looksLikePDF finds the PDF header where readers look for it: in the
// first 1024 bytes.
func looksLikePDF(head []byte) bool {
	return bytes.Contains(head[:min(len(head), sniffLen)], []byte("%PDF-"))
}

// looksLikeCMS says whether b starts like a DER SEQUENCE or a PEM block,
// as a .p7s does.
func looksLikeCMS(b []byte) bool {
	if bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("-----BEGIN ")) {
		return true
	}
	return len(b) >= 2 && b[0] == 0x30 && (b[1] == 0x80 || (b[1] >= 0x81 && b[1] <= 0x84))
}

// cleanName keeps a file name fit to show: no directories, no control or
// direction-changing characters (which could make "fdp.exe" read as
// "exe.pdf"), not too long. The template escapes it.
func cleanName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, name)
	if utf8.RuneCountInString(name) > maxNameRunes {
		name = string([]rune(name)[:maxNameRunes]) + "…"
	}
	return name
}
