package exchange

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"civitas/internal/kernel"
)

// peerKey keys the calling peer in a request's context.
type peerKey struct{}

// PeerFrom returns the name of the peer province calling the peer listener,
// as this province calls it.
func PeerFrom(ctx context.Context) (string, bool) {
	p, ok := ctx.Value(peerKey{}).(string)
	return p, ok
}

// HandlePeer serves a handler on the peer listener, for peers only: the
// calling peer is in the request's context (PeerFrom). The document
// exchange mounts its envelope endpoint with it. Call it before serving.
func (s *Service) HandlePeer(pattern string, h http.Handler) { s.peerMux.Handle(pattern, h) }

// peerBodyLimit bounds a request on the peer listener.
const peerBodyLimit = 8 << 20

// PeerHandler is the peer listener's handler: every request names the
// peer its client certificate chains to, or is refused.
func (s *Service) PeerHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := kernel.WithRequestID(r.Context(), kernel.NewID())
		r = r.WithContext(ctx)
		defer func() {
			if v := recover(); v != nil {
				s.o.Logger.Error("exchange: peer request panicked", slog.Any("panic", v))
				s.problem(w, r, kernel.E(kernel.Internal, "error.internal"))
			}
		}()
		if r.TLS == nil {
			s.problem(w, r, kernel.E(kernel.Unauthenticated, "exchange.error.not_a_peer"))
			return
		}
		p, err := s.peerOf(ctx, r.TLS.PeerCertificates)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, peerBodyLimit)
		ctx = context.WithValue(ctx, peerKey{}, p.Name)
		ctx = kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorClient, ID: "peer:" + p.Name})
		s.peerMux.ServeHTTP(w, r.WithContext(ctx))
	})
}

// PeerTLS is the peer listener's TLS configuration: this province's peer
// certificate, and a client certificate required that chains to the root
// of a registered peer (checked at the handshake, again per request).
func (s *Service) PeerTLS() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequireAnyClientCert,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.certificate(hello.Context())
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := s.peerOf(context.Background(), cs.PeerCertificates)
			return err
		},
		NextProtos: []string{"http/1.1"},
	}
}

// ServePeers answers peers on ln with mutual TLS until ctx ends.
func (s *Service) ServePeers(ctx context.Context, ln net.Listener) error {
	if _, err := s.certificate(ctx); err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s.PeerHandler(),
		TLSConfig:         s.PeerTLS(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.o.Logger.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	s.o.Logger.Info("exchange: peer listener", slog.String("addr", ln.Addr().String()))
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// peerQuery answers a peer province's query: its consumer is
// "PEER:CONSUMER" in this province's grants.
func (s *Service) peerQuery(w http.ResponseWriter, r *http.Request) {
	peer, ok := PeerFrom(r.Context())
	if !ok {
		s.problem(w, r, kernel.E(kernel.Unauthenticated, "exchange.error.not_a_peer"))
		return
	}
	var in peerRequest
	if err := decodeStrict(r, &in); err != nil {
		s.problem(w, r, err)
		return
	}
	if strings.Contains(in.Service, "@") {
		s.problem(w, r, kernel.E(kernel.Invalid, "exchange.error.unknown_service"))
		return
	}
	consumer := strings.TrimSpace(in.Consumer)
	if _, err := s.checkConsumer(r.Context(), peer+":"+consumer); err != nil || !peerNameRE.MatchString(peer) || consumer == "" {
		s.problem(w, r, kernel.E(kernel.Invalid, "exchange.error.bad_consumer"))
		return
	}
	label := peer
	if in.AgencyName != "" && printable(in.AgencyName, 200) {
		label = in.AgencyName + " (" + peer + ")"
	}
	ref, err := subjectOf(in.Subject)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	name := peer + ":" + consumer
	ans, err := s.Query(r.Context(), Request{Service: in.Service, Subject: ref, Purpose: in.Purpose, CaseRef: in.CaseRef,
		Consumer: Consumer{Name: name, Actor: kernel.Actor{Kind: kernel.ActorClient, ID: name, OnBehalfOf: "peer:" + peer},
			Label: label, Peer: peer, Channel: ChannelExchange}})
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeAnswer(w, ans)
}
