package app

import (
	"context"

	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/web"
)

// navOfficials tells the service navigation who is an official: an account
// whose citizen holds a post in the registry of officials, as identity reads
// it. It shows entries such as the document exchange (/edoc) to officials
// only; the pages behind them check the post again.
type navOfficials struct{ id *identity.Service }

var _ web.OfficialDirectory = navOfficials{}

func (o navOfficials) IsOfficial(ctx context.Context, accountID string) (bool, error) {
	posts, err := o.id.Posts(ctx, accountID)
	if kernel.ErrorCode(err) == kernel.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return len(posts) > 0, nil
}
