package company

import (
	"context"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestNamesMissingFromTheSnapshot: dictionaries new enough by their
// number but without a company's user (they cannot be, as the foreign
// keys stand, but a snapshot is not trusted for it) are read again once,
// and a reference nobody knows shows no name rather than failing.
func TestNamesMissingFromTheSnapshot(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		s := NewStore(db)
		created, err := s.Create(ctx, cast.Alisa.Scope, Input{Name: OptString{Set: true, Value: "Ромашка"}})
		if err != nil {
			t.Fatal(err)
		}
		empty := &dictionaries{statuses: map[int64]string{}, branches: map[int64]string{}, users: map[int64]userNames{}}
		s.choices = &choicesCache{}
		s.choices.keep(empty, 1<<40)
		before := db.Statements()
		c, err := s.Get(ctx, cast.Admin.Scope, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n := db.Statements() - before; n != 2 {
			t.Errorf("%d statements, want 2 (the company, the dictionaries once)", n)
		}
		if c.ResponsibleName != cast.Alisa.FullName() || c.Ref().ResponsibleBranchID != cast.BranchA || c.BranchName == "" {
			t.Errorf("names %q %q, responsible's branch %d", c.ResponsibleName, c.BranchName, c.Ref().ResponsibleBranchID)
		}

		dangling := Company{StatusID: ptr(99), BranchID: ptr(98), ResponsibleID: ptr(97), CreatedByID: ptr(96), deletedBy: 95}
		dangling.DeletedAt = &dangling.CreatedAt
		empty.name(&dangling)
		if dangling.StatusName != "" || dangling.BranchName != "" || dangling.ResponsibleName != "" || dangling.CreatedByName != "" ||
			dangling.DeletedByName != "" || dangling.responsibleBranch != 0 {
			t.Errorf("unknown references got names: %+v", dangling)
		}
	})
}
