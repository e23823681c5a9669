package pki

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"civitas/internal/kernel"
)

// CheckpointPage is a page of GET /audit/checkpoints: checkpoints oldest
// first, and the address of the next page (relative to this one) while
// there may be more.
type CheckpointPage struct {
	Checkpoints []Published `json:"checkpoints"`
	Next        string      `json:"next,omitempty"`
}

// maxWitnessLine is the longest checkpoint a witness reads: a checkpoint
// with a time-stamp token and the TSA's certificate in it is under 4 KiB.
const maxWitnessLine = 64 << 10

// ReadWitness reads checkpoints as witnesses keep them and as civitas
// publishes them: JSON lines, each a checkpoint (a line of a witness's
// file, or /audit/checkpoints/latest) or a page of /audit/checkpoints
// (whose Next it does not follow: CheckpointClient.Fetch does). from names
// the source in messages ("witness.jsonl"). It is a parser of untrusted
// input: a line that is neither, or a checkpoint with a malformed field,
// ends it with an error naming the line. Lines are read one by one, so a
// witness's file of years is never held whole in memory.
func ReadWitness(r io.Reader, from string) iter.Seq2[Witnessed, error] {
	return func(yield func(Witnessed, error) bool) {
		readWitness(r, from, yield)
	}
}

// maxWitnessPage is the longest line ReadWitness reads: a page of 1,000
// checkpoints.
const maxWitnessPage = 64 << 20

// readWitness reads r as ReadWitness does and returns the Next of the last
// page it read ("" when none) and whether to go on.
func readWitness(r io.Reader, from string, yield func(Witnessed, error) bool) (next string, more bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxWitnessPage)
	fail := func(where string, err error) (string, bool) {
		e := kernel.E(kernel.Invalid, "pki.error.bad_witness", where)
		if err != nil {
			e = e.WithCause(err)
		}
		yield(Witnessed{}, e)
		return "", false
	}
	for line := 1; sc.Scan(); line++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		where := from + " line " + strconv.Itoa(line)
		if raw[0] != '{' {
			return fail(where, nil)
		}
		var probe struct {
			Checkpoints json.RawMessage `json:"checkpoints"`
			Next        string          `json:"next"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return fail(where, err)
		}
		items := []json.RawMessage{raw}
		if probe.Checkpoints != nil {
			items = nil
			if err := json.Unmarshal(probe.Checkpoints, &items); err != nil {
				return fail(where, err)
			}
			next = probe.Next
		}
		for _, item := range items {
			w, err := parseWitnessed(item, where)
			if err != nil {
				yield(Witnessed{}, err)
				return "", false
			}
			if !yield(w, nil) {
				return "", false
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fail(from, err)
	}
	return next, true
}

// parseWitnessed reads one published checkpoint, refusing unknown fields
// (a witness's copy is exactly what was published) and anything too long.
func parseWitnessed(raw []byte, where string) (Witnessed, error) {
	if len(raw) > maxWitnessLine {
		return Witnessed{}, kernel.E(kernel.Invalid, "pki.error.bad_witness", where)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var p Published
	if err := dec.Decode(&p); err != nil {
		return Witnessed{}, kernel.E(kernel.Invalid, "pki.error.bad_witness", where).WithCause(err)
	}
	cp, err := p.Checkpoint()
	if err != nil {
		return Witnessed{}, kernel.E(kernel.Invalid, "pki.error.bad_witness", where).WithCause(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return Witnessed{}, kernel.E(kernel.Invalid, "pki.error.bad_witness", where).WithCause(err)
	}
	return Witnessed{Checkpoint: cp, Raw: compact.Bytes(), From: where}, nil
}

// CheckpointClient fetches published checkpoints over HTTP.
type CheckpointClient struct {
	HTTP     *http.Client // default: 30 s timeout
	MaxBytes int64        // largest answer read; default 1 GiB (a witness's file of years)
}

// Fetch gets checkpoints from u: a witness's file served over HTTP,
// /audit/checkpoints/latest, or /audit/checkpoints, whose pages it follows
// to the end (on the same host). On /audit/checkpoints, after skips the
// checkpoints sealing after records or fewer.
func (c CheckpointClient) Fetch(ctx context.Context, u string, after int64) iter.Seq2[Witnessed, error] {
	return func(yield func(Witnessed, error) bool) {
		base, err := url.Parse(u)
		if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
			yield(Witnessed{}, kernel.E(kernel.Invalid, "pki.error.bad_witness_url"))
			return
		}
		if strings.HasSuffix(base.Path, "/audit/checkpoints") && after > 0 {
			q := base.Query()
			q.Set("after", strconv.FormatInt(after, 10))
			base.RawQuery = q.Encode()
		}
		for page := 0; base != nil; page++ {
			if page > 100_000 { // 100 million checkpoints: a server feeding pages forever
				yield(Witnessed{}, errors.New("pki: too many pages of checkpoints"))
				return
			}
			next, ok := c.fetch(ctx, base, yield)
			if !ok || next == "" {
				return
			}
			ref, err := url.Parse(next)
			if err != nil {
				yield(Witnessed{}, kernel.E(kernel.Invalid, "pki.error.bad_witness", base.Redacted()).WithCause(err))
				return
			}
			nu := base.ResolveReference(ref)
			if nu.Scheme != base.Scheme || nu.Host != base.Host || nu.String() == base.String() {
				yield(Witnessed{}, kernel.E(kernel.Invalid, "pki.error.bad_witness", base.Redacted()))
				return
			}
			base = nu
		}
	}
}

func (c CheckpointClient) fetch(ctx context.Context, u *url.URL, yield func(Witnessed, error) bool) (string, bool) {
	client := c.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	limit := c.MaxBytes
	if limit <= 0 {
		limit = 1 << 30
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		yield(Witnessed{}, kernel.E(kernel.Invalid, "pki.error.bad_witness_url"))
		return "", false
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		yield(Witnessed{}, fmt.Errorf("pki: fetch checkpoints from %s: %w", u.Redacted(), err))
		return "", false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		yield(Witnessed{}, fmt.Errorf("pki: fetch checkpoints from %s: %s", u.Redacted(), resp.Status))
		return "", false
	}
	return readWitness(io.LimitReader(resp.Body, limit), u.Redacted(), yield)
}

// Kept is what CheckpointClient.Keep added to a witness's copies.
type Kept struct {
	Added  int        // checkpoints written
	Newest Checkpoint // the newest the witness now holds (zero when none)
}

// Keep is a witness's round: it fetches from u the checkpoints newer than
// the newest in held (the witness's copies, as ReadWitness reads them) and
// writes each to out as a line, byte for byte as published. It refuses
// what contradicts the copies: a checkpoint of as many records as the
// newest held but another head (the log was rewritten), one sealed before
// the newest held, and, from /audit/checkpoints, a list that no longer
// holds the newest held checkpoint (deleted with the records it sealed).
// Seals are not checked here: civitas audit verify --witness checks them
// against the province's hierarchy.
func (c CheckpointClient) Keep(ctx context.Context, u string, held iter.Seq2[Witnessed, error], out io.Writer) (Kept, error) {
	var k Kept
	for w, err := range held {
		if err != nil {
			return k, err
		}
		if w.Seq > k.Newest.Seq {
			k.Newest = w.Checkpoint
		}
	}
	last := k.Newest
	listed := false
	if pu, err := url.Parse(u); err == nil {
		listed = strings.HasSuffix(pu.Path, "/audit/checkpoints")
	}
	seenLast := last.Seq == 0
	for w, err := range c.Fetch(ctx, u, max(last.Seq-1, 0)) {
		if err != nil {
			return k, err
		}
		switch {
		case w.Seq == last.Seq:
			if w.Hash != last.Hash {
				return k, fmt.Errorf("pki: %s: the checkpoint of %d records names head %s, this witness holds %s: the log was rewritten",
					w.From, w.Seq, w.Hash, last.Hash)
			}
			seenLast = true
			continue
		case w.Seq < last.Seq:
			continue
		}
		if listed && !seenLast {
			return k, fmt.Errorf("pki: %s no longer publishes the checkpoint of %d records (sealed %s) this witness holds: it was deleted, with the records it sealed perhaps",
				w.From, last.Seq, last.At.Format(time.RFC3339))
		}
		if w.At.Before(k.Newest.At) {
			return k, fmt.Errorf("pki: %s: the checkpoint of %d records was sealed at %s, before the one of %d records (%s)",
				w.From, w.Seq, w.At.Format(time.RFC3339), k.Newest.Seq, k.Newest.At.Format(time.RFC3339))
		}
		if _, err := out.Write(append(w.Raw[:len(w.Raw):len(w.Raw)], '\n')); err != nil {
			return k, fmt.Errorf("pki: write checkpoint: %w", err)
		}
		k.Added++
		k.Newest, seenLast = w.Checkpoint, true
	}
	if listed && !seenLast {
		return k, fmt.Errorf("pki: %s no longer publishes the checkpoint of %d records (sealed %s) this witness holds: it was deleted, with the records it sealed perhaps",
			u, last.Seq, last.At.Format(time.RFC3339))
	}
	return k, nil
}
