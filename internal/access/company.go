package access

import "github.com/crmprofi/crm/internal/database"

// RestrictToCompany limits w to the rows of one company, id, and only when
// the scope may see that company: the rows of a company card (its notes,
// its contacts). It asks the visibility of that one company by its primary
// key, where RestrictCompanyID gathers every visible company — a scan of
// the companies table for a manager who sees only their own.
func (s Scope) RestrictToCompany(w *database.Where, col string, id int64) {
	w.Add(col+" = ?", id)
	if s.SeesAll() { // a user who sees all, or the system actor
		return
	}
	var inner database.Where
	inner.Add("vc.id = ?", id)
	s.Restrict(&inner, "vc")
	w.Add("EXISTS (SELECT 1 FROM companies vc" + w.Adopt(&inner) + ")")
}
