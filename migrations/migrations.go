// Package migrations embeds the goose migrations, one folder per dialect
// with identical file names.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// For returns the migrations of a dialect ("postgres" or "sqlite").
func For(dialect string) (fs.FS, error) {
	switch dialect {
	case "postgres", "sqlite":
		return fs.Sub(files, dialect)
	}
	return nil, fmt.Errorf("no migrations for dialect %q", dialect)
}
