package jobs

import (
	"testing"

	"github.com/crmprofi/crm/internal/amoimport"
	"github.com/crmprofi/crm/internal/progress"
)

func TestTheReadingStageOfAnImportRunningHereIsWhatReadProgressSays(t *testing.T) {
	j := &Jobs{}
	read := &readCounter{}
	j.reads.Store(int64(7), read)
	bars := &importBars{make: progress.Discard, read: read}

	bar := bars.stage(amoimport.StageRead)
	bar.Start(10240)
	bar.Add(4096)
	bar.Finish(nil) // a stage's end is not the run's
	bars.stage(amoimport.StageWrite).Add(500)

	if done, total, ok := j.ReadProgress(7); !ok || done != 4096 || total != 10240 {
		t.Errorf("ReadProgress(7) = %d, %d, %v; want 4096 of 10240", done, total, ok)
	}
	if _, _, ok := j.ReadProgress(8); ok {
		t.Error("ReadProgress of an import not running here")
	}
}
