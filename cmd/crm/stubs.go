package main

import (
	"context"
	"errors"

	"github.com/crmprofi/crm/internal/database"
)

// Skeletons owned by other work; replace this file.
func cmdCreateSuperuser(ctx context.Context, env *environment, args []string) error {
	return errors.New("not yet")
}
func cmdDemo(ctx context.Context, env *environment, args []string) error { return errors.New("not yet") }
func ensureFirstAdmin(ctx context.Context, env *environment, db *database.DB) error {
	return nil
}
