package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"civitas/internal/app"
	"civitas/internal/config"
	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/registry"
)

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// citizenScopes are the scopes a public client (a citizen's app) may ask
// a citizen for besides openid and the claims: the portal's API and remote
// signing.
var citizenScopes = []string{"openid", "profile", "phone", "email", "citizen_id", "offline_access", "signing", "portal"}

func clientCommand() command {
	var id, jwksFile, name, purpose, agency string
	var redirects, scopes stringList
	var secretStdin, public, requirePAR bool
	return command{
		name:  "client",
		usage: "civitas client add --data DIR --client-id ID --redirect-uri URI [--secret-stdin | --jwks-file FILE] [--public] [--name NAME] [--purpose TEXT] [--require-par] [--agency CODE --scope SCOPE...]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.StringVar(&id, "client-id", "", "the relying party's client `ID`")
			fs.Var(&redirects, "redirect-uri", "a redirect `URI` (repeat for several; also the allowed post-logout URIs)")
			fs.BoolVar(&secretStdin, "secret-stdin", false, "client_secret_basic: read the secret (at least 32 characters) from standard input")
			fs.StringVar(&jwksFile, "jwks-file", "", "private_key_jwt: `file` with the client's public JWKS")
			fs.BoolVar(&public, "public", false, "a public client (no secret; PKCE and DPoP)")
			fs.StringVar(&name, "name", "", "`name` shown on the consent screen (default: the client ID)")
			fs.StringVar(&purpose, "purpose", "", "why the service asks for data, shown on the consent screen")
			fs.BoolVar(&requirePAR, "require-par", false, "refuse authorization requests not pushed with PAR")
			fs.StringVar(&agency, "agency", "", "the `code` of the agency the client acts for with the client_credentials grant")
			fs.Var(&scopes, "scope", "a `scope` the client may get for itself with client_credentials: wallet.issue or exchange.query (both need --agency), wallet.query (repeat for several); for a --public client, a scope it asks citizens for (portal, signing)")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			if len(args) != 1 || args[0] != "add" {
				return usageError("expected: civitas client add")
			}
			if id == "" || len(redirects) == 0 && len(scopes) == 0 {
				// A client acting only for itself (--scope) needs no redirect URI.
				return usageError("--client-id and --redirect-uri are required")
			}
			n := 0
			for _, b := range []bool{secretStdin, jwksFile != "", public} {
				if b {
					n++
				}
			}
			if n != 1 {
				return usageError("give exactly one of --secret-stdin, --jwks-file and --public")
			}
			// A public client acts only for citizens: its --scope names what
			// it asks them for (the portal's API, remote signing), never a
			// scope of its own.
			var asks, own []string
			if public {
				for _, s := range scopes {
					switch {
					case !slices.Contains(citizenScopes, s):
						own = append(own, s) // refused below: a public client has none
					case !slices.Contains(asks, s):
						asks = append(asks, s)
					}
				}
				scopes = own
			}
			cl := oidc.Client{ID: id, Name: name, Purpose: purpose, RedirectURIs: redirects, RequirePAR: requirePAR,
				Agency: strings.TrimSpace(agency), Scopes: scopes}
			switch {
			case secretStdin:
				secret, err := readSecretLine(stdin)
				if err != nil {
					return err
				}
				cl.AuthMethod, cl.Secret = oidc.AuthSecretBasic, secret
			case jwksFile != "":
				b, err := os.ReadFile(jwksFile)
				if err != nil {
					return fmt.Errorf("read --jwks-file: %w", err)
				}
				if err := json.Unmarshal(b, &cl.JWKS); err != nil || len(cl.JWKS.Keys) == 0 {
					var one jose.JWK // a single JWK is accepted too
					if json.Unmarshal(b, &one) != nil || one.Kty == "" {
						return usageError("--jwks-file must hold a JWKS ({\"keys\": [...]}) or one public JWK")
					}
					cl.JWKS.Keys = []jose.JWK{one}
				}
				cl.AuthMethod = oidc.AuthPrivateKeyJWT
			default:
				cl.AuthMethod = oidc.AuthNone
			}
			d, err := openDB(ctx, c)
			if err != nil {
				return err
			}
			defer d.Close()
			if cl.Agency != "" {
				if _, err := registry.New(d, kernel.SystemClock{}).Agency(ctx, cl.Agency); kernel.ErrorCode(err) == kernel.NotFound {
					return kernel.E(kernel.Invalid, "oidcclient.error.no_agency").WithCause(err)
				} else if err != nil {
					return err
				}
			}
			log := slog.New(slog.DiscardHandler)
			box, err := app.OpenBox(c, log)
			if err != nil {
				return err
			}
			p, err := oidc.New(ctx, oidc.Options{DB: d, Clock: kernel.SystemClock{}, Box: box, Logger: log})
			if err != nil {
				return err
			}
			if err := p.AddClient(ctx, cl); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "client %s added (%s, %d redirect URIs)\n", cl.ID, cl.AuthMethod, len(cl.RedirectURIs))
			if cl.Agency != "" || len(cl.Scopes) > 0 {
				fmt.Fprintf(stdout, "acts for agency %q with client_credentials, scopes: %s\n", cl.Agency, strings.Join(cl.Scopes, " "))
			}
			if len(asks) > 0 {
				fmt.Fprintf(stdout, "asks citizens for scopes: %s\n", strings.Join(asks, " "))
			}
			return nil
		},
	}
}
