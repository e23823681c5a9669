package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"civitas/internal/kernel"
)

//go:embed static
var staticFS embed.FS

// immutable is the caching of a content-addressed file: its URL changes
// whenever its bytes do, so a browser may keep it for a year unasked.
const immutable = "public, max-age=31536000, immutable"

// asset is one static file, kept in memory with its gzip form.
type asset struct {
	url   string // /static/app.3f9a1c2b4d5e6f70.css
	ctype string
	etag  string
	body  []byte
	gz    []byte // nil when compression does not pay
}

// assets are the embedded static files by name and by hashed file name.
type assets struct {
	byName   map[string]*asset // "app.css"
	byHashed map[string]*asset // "app.3f9a1c2b4d5e6f70.css"
}

func loadAssets() (*assets, error) {
	a := &assets{byName: map[string]*asset{}, byHashed: map[string]*asset{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		if strings.Contains(name, "/") {
			return fmt.Errorf("%s: static files are flat", p)
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:8])
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hash + ext
		ctype := mime.TypeByExtension(ext)
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		as := &asset{url: "/static/" + hashed, ctype: ctype, etag: `"` + hash + `"`, body: body}
		if compressible(ctype) {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
			_, _ = zw.Write(body)
			_ = zw.Close()
			if buf.Len() < len(body)*9/10 {
				as.gz = buf.Bytes()
			}
		}
		a.byName[name] = as
		a.byHashed[hashed] = as
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	return a, nil
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "svg") ||
		strings.Contains(ctype, "javascript") || strings.Contains(ctype, "json")
}

// url is the template function "asset": the hashed URL of a static file.
// An unknown name is an error, which the start-up render of every page
// turns into a failed start.
func (a *assets) url(name string) (string, error) {
	as, ok := a.byName[name]
	if !ok {
		return "", fmt.Errorf("web: no static file %q", name)
	}
	return as.url, nil
}

// static serves a file by its hashed name. An old or wrong hash is a 404,
// never the current file: a cached page must not get a stylesheet it was
// not written for under a URL that promises immutability.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	as, ok := s.assets.byHashed[r.PathValue("file")]
	if !ok {
		s.Error(w, r, kernel.E(kernel.NotFound, "error.not_found"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", as.ctype)
	h.Set("Cache-Control", immutable)
	h.Set("ETag", as.etag)
	body := as.body
	if as.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			body = as.gz
		}
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reads Accept-Encoding: gzip is used unless absent or q=0.
func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q > 0
		}
		return true
	}
	return false
}
