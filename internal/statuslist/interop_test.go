package statuslist_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"civitas/internal/jose"
	"civitas/internal/statuslist"
)

// owfScript verifies our token with WebCrypto and reads it with npm
// @owf/token-status-list (what @sd-jwt/sd-jwt-vc checks statuses with), and
// makes a token of its own for us to verify: code nobody here wrote, both ways.
const owfScript = `
import { getListFromStatusListJWT, StatusList, createHeaderAndPayload } from '@owf/token-status-list';
import { webcrypto as wc } from 'node:crypto';
let text = '';
for await (const chunk of process.stdin) text += chunk;
const input = JSON.parse(text);
const [h, p, s] = input.jwt.split('.');
const ours = await wc.subtle.importKey('jwk', input.jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
const signature = await wc.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, ours, Buffer.from(s, 'base64url'), Buffer.from(h + '.' + p));
const list = getListFromStatusListJWT(input.jwt);
const statuses = input.indexes.map((i) => list.getStatus(i));
const theirs = new StatusList(new Array(input.size).fill(0), 2);
for (const [i, v] of input.set) theirs.setStatus(i, v);
const now = Math.floor(Date.now() / 1000);
const { header, payload } = createHeaderAndPayload(theirs, { sub: input.uri, iat: now, exp: now + 3600, ttl: 300 }, { alg: 'ES256', typ: 'statuslist+jwt' });
const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const input2 = enc(header) + '.' + enc(payload);
const kp = await wc.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
const sig = await wc.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, kp.privateKey, Buffer.from(input2));
console.log(JSON.stringify({
  typ: JSON.parse(Buffer.from(h, 'base64url')).typ, signature, statuses,
  token: input2 + '.' + Buffer.from(sig).toString('base64url'),
  jwk: await wc.subtle.exportKey('jwk', kp.publicKey),
}));
`

// owfDir is the npm project holding @owf/token-status-list (tests/wallet),
// or the test is skipped when it is not installed (failed when
// CIVITAS_REQUIRE_NODE is set, as in CI).
func owfDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "tests", "wallet")
	msg := ""
	if _, err := exec.LookPath("node"); err != nil {
		msg = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "@owf", "token-status-list")); err != nil {
		msg = "npm @owf/token-status-list is not installed: cd tests/wallet && npm ci"
	}
	if msg != "" {
		if os.Getenv("CIVITAS_REQUIRE_NODE") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

func TestInteropOWF(t *testing.T) {
	dir := owfDir(t)
	e := newEnv(t, statuslist.Options{})
	var ents []statuslist.Entry
	for range 20 {
		ents = append(ents, e.allocate(t))
	}
	want := map[int]statuslist.Status{ents[2].Index: statuslist.Invalid, ents[5].Index: statuslist.Suspended}
	e.set(ents[2], statuslist.Invalid)
	e.set(ents[5], statuslist.Suspended)
	tok, err := e.s.Token(e.ctx, ents[0].List)
	if err != nil {
		t.Fatal(err)
	}
	jwk, _ := jose.PublicJWK(&e.key.PublicKey)
	var indexes []int
	for _, ent := range ents {
		indexes = append(indexes, ent.Index)
	}
	theirs := [][2]int{{0, 1}, {1993, 2}, {99_999, 1}}
	in, _ := json.Marshal(map[string]any{"jwt": string(tok), "jwk": jwk, "indexes": indexes,
		"size": statuslist.DefaultSize, "set": theirs, "uri": ents[0].URI})
	cmd := exec.Command("node", "--input-type=module", "-e", owfScript)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var got struct {
		Typ       string              `json:"typ"`
		Signature bool                `json:"signature"`
		Statuses  []statuslist.Status `json:"statuses"`
		Token     string              `json:"token"`
		JWK       jose.JWK            `json:"jwk"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node output %s: %v", out, err)
	}
	t.Run("ok/they read ours", func(t *testing.T) {
		if got.Typ != "statuslist+jwt" || !got.Signature {
			t.Fatalf("typ %q, signature verified: %v", got.Typ, got.Signature)
		}
		for i, ent := range ents {
			if got.Statuses[i] != want[ent.Index] {
				t.Fatalf("they read status[%d] = %v, want %v", ent.Index, got.Statuses[i], want[ent.Index])
			}
		}
	})
	t.Run("ok/we read theirs", func(t *testing.T) {
		key, err := got.JWK.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		v, err := statuslist.Verify([]byte(got.Token), statuslist.Expect{URI: ents[0].URI, Key: key, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range theirs {
			if st, err := v.List.Get(s[0]); err != nil || st != statuslist.Status(s[1]) {
				t.Fatalf("status[%d] = %v, %v", s[0], st, err)
			}
		}
		if st, _ := v.List.Get(5); st != statuslist.Valid || v.TTL != 300*time.Second {
			t.Fatalf("status[5] = %v, ttl %v", st, v.TTL)
		}
	})
}
