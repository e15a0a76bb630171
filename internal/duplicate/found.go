package duplicate

// Found is the error of a save that would make a duplicate without the
// caller's confirmation: a second live company with the same ИНН and КПП
// (or the same ИНН where neither has a КПП), or, in strict mode (the
// company form), any likely duplicate. The server answers it with
// 409 {"code": "duplicate", "detail", "matches"}; the form shows the
// matches and a «Всё равно создать» button that repeats the save with
// confirmation. Take it with errors.As.
type Found struct {
	Matches []Match
}

// Error is the Russian message the server shows as the 409's detail.
func (e *Found) Error() string { return e.Detail() }

// Detail explains the refusal in Russian, without quoting the other
// companies' values.
func (e *Found) Detail() string {
	for _, m := range e.Matches {
		if m.Blocking {
			return "Компания с таким ИНН и КПП уже есть. Проверьте, не дубль ли это, или подтвердите сохранение."
		}
	}
	return "Похожая компания уже есть. Проверьте, не дубль ли это, или подтвердите сохранение."
}
