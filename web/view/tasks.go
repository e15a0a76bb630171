package view

import "github.com/crmprofi/crm/internal/dictionary"

// taskIconOptions are the symbols a task type may show, for the admin's
// select.
func taskIconOptions() []Option {
	opts := make([]Option, len(dictionary.TaskIcons))
	for i, ic := range dictionary.TaskIcons {
		opts[i] = Option{Value: ic.Name, Label: ic.Label}
	}
	return opts
}
