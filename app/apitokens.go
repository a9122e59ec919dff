package app

import (
	"context"
	"fmt"
	"regexp"

	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/handlers/api"
	"github.com/campaignbot/campaignbot/store"
)

var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CreateAPIToken creates an API token straight in the database and
// returns it (shown once; only its hash is stored). This is the operator's
// bootstrap: the first write token cannot come from the API, which needs
// a write token to administer tokens.
func CreateAPIToken(ctx context.Context, cfg config.Config, name, scope, createdBy string) (string, store.APIToken, error) {
	if !tokenName.MatchString(name) {
		return "", store.APIToken{}, fmt.Errorf("token name %q: use 1-64 letters, digits, dots, dashes or underscores", name)
	}
	if !api.ValidScope(scope) {
		return "", store.APIToken{}, fmt.Errorf("scope %q: use read or write", scope)
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return "", store.APIToken{}, err
	}
	defer st.Close()
	secret, hash, err := api.NewToken()
	if err != nil {
		return "", store.APIToken{}, err
	}
	t, err := st.CreateAPIToken(ctx, store.APIToken{Name: name, Scope: scope, CreatedBy: createdBy}, hash)
	if err != nil {
		return "", t, err
	}
	if err := st.Audit(ctx, store.AuditEntry{Actor: "operator:" + createdBy, Action: "token.create", Target: fmt.Sprintf("token:%d", t.ID),
		Outcome: "accepted", Details: map[string]any{"token_name": name, "scope": scope, "via": "cli"}}); err != nil {
		return secret, t, err
	}
	return secret, t, nil
}
