package kernel

import (
	"context"
	"testing"
	"time"
)

func TestActorSource(t *testing.T) {
	ctx := context.Background()
	if a := ActorFrom(ctx); a.Kind != ActorAnonymous {
		t.Fatalf("empty context: %+v", a)
	}
	who := Actor{Kind: ActorAnonymous}
	asked := 0
	ctx = WithActorSource(ctx, func() Actor { asked++; return who })
	if a := ActorFrom(ctx); a.Kind != ActorAnonymous || asked != 1 {
		t.Fatalf("source before sign-in: %+v, asked %d", a, asked)
	}
	// The source is asked each time: a sign-in during the request counts.
	who = Actor{Kind: ActorCitizen, ID: "acc-1"}
	if a := ActorFrom(ctx); a.ID != "acc-1" || asked != 2 {
		t.Fatalf("source after sign-in: %+v, asked %d", a, asked)
	}
	// An actor set explicitly below wins.
	inner := WithActor(ctx, System("job"))
	if a := ActorFrom(inner); a.Kind != ActorSystem || a.ID != "job" {
		t.Fatalf("explicit actor: %+v", a)
	}
}

func TestVocabulary(t *testing.T) {
	if !AtLeastLevel2(ACRLevel2) || AtLeastLevel2(ACRLevel1) || AtLeastLevel2("") {
		t.Fatal("AtLeastLevel2")
	}
	if _, off := time.Date(2026, 12, 7, 0, 0, 0, 0, Zone()).Zone(); off != 7*3600 {
		t.Fatalf("province zone offset %d", off)
	}
}
