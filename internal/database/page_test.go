package database_test

import (
	"math"
	"testing"

	"github.com/crmprofi/crm/internal/database"
)

func TestPageBoundsNeverOverflow(t *testing.T) {
	tests := []struct {
		name             string
		page, size, n    int
		wantFrom, wantTo int
	}{
		{"the first page holds the first entries", 1, 2, 5, 0, 2},
		{"the last page may be short", 3, 2, 5, 4, 5},
		{"a page past the end is empty", 4, 2, 5, 5, 5},
		{"page zero is the first page", 0, 2, 5, 0, 2},
		{"a negative page is the first page", -1, 2, 5, 0, 2},
		{"the largest page number is empty", math.MaxInt, 50, 5, 5, 5},
		{"the largest page number with the largest size is empty", math.MaxInt, math.MaxInt, 5, 5, 5},
		{"size zero is the whole list", 3, 0, 5, 0, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to := database.PageBounds(tt.page, tt.size, tt.n)
			if from != tt.wantFrom || to != tt.wantTo {
				t.Fatalf("PageBounds(%d, %d, %d) = %d, %d; want %d, %d", tt.page, tt.size, tt.n, from, to, tt.wantFrom, tt.wantTo)
			}
			if off := database.PageOffset(tt.page, tt.size); off < 0 || off > math.MaxInt32 {
				t.Fatalf("PageOffset(%d, %d) = %d, outside 0…MaxInt32", tt.page, tt.size, off)
			}
		})
	}
}
