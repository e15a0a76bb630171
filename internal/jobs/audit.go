package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/crmprofi/crm/internal/audit"
)

// auditVerifyEvery is how often the whole audit chain is checked.
const auditVerifyEvery = 24 * time.Hour

// AuditVerifyArgs asks for the full check of the audit chain — every
// lane from its first entry, as "crm audit verify" does — whose result
// the admin page shows: the page's own quick check goes on from where it
// stopped and does not see an edit behind that point.
type AuditVerifyArgs struct{}

// Kind names the job kind in River's table.
func (AuditVerifyArgs) Kind() string { return "audit.verify" }

type auditVerifyWorker struct {
	river.WorkerDefaults[AuditVerifyArgs]
	j *Jobs
}

// Timeout allows a large log: 1,000,000 entries take about 20 s on SQLite.
func (*auditVerifyWorker) Timeout(*river.Job[AuditVerifyArgs]) time.Duration { return 30 * time.Minute }

func (w *auditVerifyWorker) Work(ctx context.Context, _ *river.Job[AuditVerifyArgs]) error {
	start := time.Now()
	c, err := audit.VerifyAll(ctx, w.j.db)
	if err != nil {
		return err
	}
	if c.Broken != nil {
		w.j.log.ErrorContext(ctx, "the audit chain is broken", "err", c.Broken.Error(), "entries", c.Entries)
		return nil
	}
	w.j.log.InfoContext(ctx, "the audit chain holds", "entries", c.Entries, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
