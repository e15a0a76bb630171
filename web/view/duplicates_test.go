package view

import "testing"

func TestDuplicateStrengthIsWordsAndPercent(t *testing.T) {
	for _, c := range []struct {
		score       float64
		label, tone string
	}{
		{0.92, "почти наверняка, 92\u00a0%", "danger"},
		{0.75, "вероятно, 75\u00a0%", "warning"},
		{0.6, "вероятно, 60\u00a0%", "warning"},
		{0.4, "возможно, 40\u00a0%", "neutral"},
	} {
		label, tone := duplicateStrength(c.score)
		if label != c.label || tone != c.tone {
			t.Errorf("duplicateStrength(%v) = %q, %q; want %q, %q", c.score, label, tone, c.label, c.tone)
		}
	}
}
