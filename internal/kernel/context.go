package kernel

import "context"

// ActorKind says what kind of party acts.
type ActorKind string

// The kinds of actors.
const (
	ActorAnonymous ActorKind = "anonymous"
	ActorCitizen   ActorKind = "citizen"
	ActorOfficial  ActorKind = "official"
	ActorSystem    ActorKind = "system"
	ActorOperator  ActorKind = "operator"
	ActorClient    ActorKind = "client" // a relying party or partner system
)

// Actor is who performs an action, and for whom.
type Actor struct {
	Kind ActorKind
	// ID identifies the actor within its kind: an account ID, a client ID, a job name.
	ID string
	// OnBehalfOf is set when the actor acts for someone else (a guardian for a child,
	// an officer for a citizen at a support point).
	OnBehalfOf string
}

// System returns the actor for background work and operator commands.
func System(name string) Actor { return Actor{Kind: ActorSystem, ID: name} }

type actorKey struct{}
type requestIDKey struct{}

// WithActor returns a context carrying the actor.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorSource finds the actor when it is first asked for.
type ActorSource func() Actor

// WithActorSource returns a context whose actor source asks each time the
// actor is wanted. The web layer passes its session lookup (which reads the
// database once per request and remembers), so the actor of a request is the
// signed-in person, even one who signed in during the request, without a
// read for requests that never ask. An actor set later with WithActor wins.
func WithActorSource(ctx context.Context, source ActorSource) context.Context {
	return context.WithValue(ctx, actorKey{}, source)
}

// ActorFrom returns the actor in ctx, or the anonymous actor.
func ActorFrom(ctx context.Context) Actor {
	switch a := ctx.Value(actorKey{}).(type) {
	case Actor:
		return a
	case ActorSource:
		return a()
	}
	return Actor{Kind: ActorAnonymous}
}

// WithRequestID returns a context carrying the request ID.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request ID in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
