package dictionary

import "github.com/crmprofi/crm/internal/database"

// Store keeps dictionary records. (Skeleton: to be filled in.)
type Store struct {
	db *database.DB
}

// NewStore returns a Store on db.
func NewStore(db *database.DB) *Store { return &Store{db: db} }
