package main

import (
	"context"
	"errors"
)

// Skeletons owned by other work; replace this file.
func cmdDemo(ctx context.Context, env *environment, args []string) error {
	return errors.New("not yet")
}
