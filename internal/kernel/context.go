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

// ActorFrom returns the actor in ctx, or the anonymous actor.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
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
