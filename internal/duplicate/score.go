// Package duplicate is the one matching engine of CRM ПРОФИ: given what
// someone typed (or a stored company) it finds the companies that are
// probably the same one, says why in Russian, and scores each candidate.
// The company form's live panel, the API, the check on save and the bulk
// scan all ask it, so a pair is a duplicate, or not, the same way
// everywhere.
//
// Score is pure: it compares two Records (the normalised keys of two
// companies). Engine generates candidates through indexes only — ИНН, ОГРН,
// the normalised name, trigram similarity of names (the name_trigrams
// posting table over distinct names, on both databases), phones, e-mails
// and the website's domain — and scores them with Score.
package duplicate

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/crmprofi/crm/internal/dedup"
	"github.com/crmprofi/crm/internal/russian"
)

// Probe is what someone typed, or a stored company, to look for
// duplicates of.
type Probe struct {
	Exclude                                int64 // the company being edited (never its own duplicate)
	Name, INN, KPP, OGRN, Address, Website string
	Phones, Emails                         []string // as typed
}

// Reason is one signal that two companies are one: which field, how it
// matched, and a Russian explanation that never quotes the other
// company's values (the caller may not be allowed to see them).
type Reason struct {
	Field  string `json:"field"`  // inn|kpp|ogrn|name|address|phone|email|website
	Kind   string `json:"kind"`   // exact|normalized|similar
	Detail string `json:"detail"` // Russian, e.g. «совпадает ИНН, другой КПП — вероятно, филиал»
}

// Match is one candidate as the API shows it (api.md "Match"). A match the
// caller may not see has Accessible false and carries only its id, name,
// responsible name and reasons.
type Match struct {
	ID              int64    `json:"id"`
	Name            string   `json:"name"`
	INN             string   `json:"inn"`
	KPP             string   `json:"kpp"`
	Address         string   `json:"address"`
	ResponsibleName string   `json:"responsible_name"`
	Accessible      bool     `json:"accessible"`
	Score           float64  `json:"score"`
	Reasons         []Reason `json:"reasons"`
	// Blocking marks a second company of one legal entity and place: the
	// same ИНН and КПП, or the same ИНН where neither has a КПП. Saving
	// one needs confirmation.
	Blocking bool `json:"-"`
}

// MarshalJSON writes every field of a match the caller may see (an empty
// ИНН as ""), and of a hidden one only id, name, responsible_name,
// accessible, score and reasons: the keys themselves are absent.
//
// Both carry responsible_genitive, the responsible's name in the genitive
// («Веры Поповой»), for the form's «уже есть у …» — declined here, once,
// not again in the browser.
func (m Match) MarshalJSON() ([]byte, error) {
	type plain Match
	genitive := russian.Genitive(m.ResponsibleName)
	if m.Accessible {
		return json.Marshal(struct {
			plain
			ResponsibleGenitive string `json:"responsible_genitive"`
		}{plain(m), genitive})
	}
	return json.Marshal(struct {
		ID                  int64    `json:"id"`
		Name                string   `json:"name"`
		ResponsibleName     string   `json:"responsible_name"`
		ResponsibleGenitive string   `json:"responsible_genitive"`
		Accessible          bool     `json:"accessible"`
		Score               float64  `json:"score"`
		Reasons             []Reason `json:"reasons"`
	}{m.ID, m.Name, m.ResponsibleName, genitive, false, m.Score, m.Reasons})
}

// Record is one company's normalised keys; Score compares two of them and
// the bulk scan keeps them for the whole base.
type Record struct {
	ID          int64
	NameNorm    string // dedup.NormalizeName
	INN, KPP    string
	OGRN        string
	AddressNorm string   // dedup.AddressKey
	Domain      string   // dedup.NormalizeWebsite
	Phones      []string // E.164
	Emails      []string // dedup.NormalizeEmail
}

// RecordOf normalises a probe the way stored companies are normalised.
// Phones and e-mails that do not normalise (half typed) are left out.
func RecordOf(p Probe) Record {
	r := Record{
		ID:          p.Exclude,
		NameNorm:    dedup.NormalizeName(p.Name),
		INN:         strings.ToUpper(dedup.CleanDigits(p.INN)),
		KPP:         strings.ToUpper(dedup.CleanDigits(p.KPP)),
		OGRN:        strings.ToUpper(dedup.CleanDigits(p.OGRN)),
		AddressNorm: dedup.AddressKey(p.Address),
		Domain:      dedup.NormalizeWebsite(p.Website),
	}
	for _, ph := range p.Phones {
		if n, ok := dedup.NormalizePhone(ph); ok && !slices.Contains(r.Phones, n.E164) {
			r.Phones = append(r.Phones, n.E164)
		}
	}
	for _, e := range p.Emails {
		if n, ok := dedup.NormalizeEmail(e); ok && !slices.Contains(r.Emails, n) {
			r.Emails = append(r.Emails, n)
		}
	}
	return r
}

// Likely is the score from which a candidate is a likely duplicate: the
// form asks «Всё равно создать?» and the bulk scan lists the pair. It sits
// where one strong signal alone reaches it (the ИНН, the ОГРН, the same
// name, the same name and address) and so do two weaker ones together (a
// shared phone and a clearly similar name, a phone and an e-mail), while one weak
// signal alone (a shared phone — a business centre's switchboard —, a
// similar name, the same website) stays below: those are shown, not
// pressed on the user.
const Likely = 0.6

// SimilarName is the trigram similarity from which two names count as
// similar. "ромашка"/"ромашки" is 0.6, a typed prefix "ромаш"/"ромашка"
// 0.55, "рома"/"ромашка" 0.44; unrelated names of shared words stay below.
const SimilarName = 0.4

// The weights of the signals, combined as independent evidence
// (1 − Π(1 − w)). Their order is the contract (see TestScoreOrdering):
// ИНН+КПП > ОГРН > ИНН, КПП of one side only > ИНН, other КПП (a branch) >
// name+address > phone+e-mail > phone+similar name > name > e-mail >
// phone > website > similar name.
const (
	wINNKPP      = 0.97
	wOGRN        = 0.95
	wINN         = 0.85
	wINNBranch   = 0.80
	wNameAddress = 0.75
	wName        = 0.60
	wEmail       = 0.50 // an address is someone's; a number may be a switchboard
	wPhone       = 0.45
	wWebsite     = 0.40
	wAddress     = 0.30
	wSimilarMin  = 0.20 // at SimilarName
	wSimilarMax  = 0.45 // just below identical
)

// Score compares two records: 0 when nothing matches, up to 1 when they
// are one company, and the reasons, strongest first. It is pure and cheap
// (no database), so the bulk scan calls it for every candidate pair.
func Score(a, b Record) (score float64, reasons []Reason) {
	if a.ID != 0 && a.ID == b.ID {
		return 0, nil
	}
	var ws []float64
	add := func(w float64, r Reason) {
		ws = append(ws, w)
		reasons = append(reasons, r)
	}
	if a.INN != "" && a.INN == b.INN {
		switch {
		case a.KPP == b.KPP:
			add(wINNKPP, Reason{"inn", "exact", innDetail(a.KPP)})
		case a.KPP != "" && b.KPP != "":
			add(wINNBranch, Reason{"kpp", "exact", "совпадает ИНН, другой КПП — вероятно, филиал"})
		default:
			add(wINN, Reason{"inn", "exact", "совпадает ИНН (КПП указан только у одной)"})
		}
	}
	if a.OGRN != "" && a.OGRN == b.OGRN {
		add(wOGRN, Reason{"ogrn", "exact", "совпадает ОГРН"})
	}
	sameAddress := a.AddressNorm != "" && a.AddressNorm == b.AddressNorm
	switch {
	case a.NameNorm != "" && a.NameNorm == b.NameNorm && sameAddress:
		add(wNameAddress, Reason{"name", "normalized", "то же название и тот же адрес"})
		sameAddress = false // told already
	case a.NameNorm != "" && a.NameNorm == b.NameNorm:
		add(wName, Reason{"name", "normalized", "то же название (без формы собственности, кавычек и регистра)"})
	default:
		if sim := Similarity(a.NameNorm, b.NameNorm); sim >= SimilarName {
			w := wSimilarMin + (wSimilarMax-wSimilarMin)*(sim-SimilarName)/(1-SimilarName)
			add(w, Reason{"name", "similar", fmt.Sprintf("похожее название (сходство %d%%)", int(math.Round(sim*100)))})
		}
	}
	if sameAddress {
		add(wAddress, Reason{"address", "normalized", "тот же адрес"})
	}
	if shared(a.Phones, b.Phones) {
		add(wPhone, Reason{"phone", "normalized", "общий телефон"})
	}
	if shared(a.Emails, b.Emails) {
		add(wEmail, Reason{"email", "normalized", "общий e-mail"})
	}
	if a.Domain != "" && a.Domain == b.Domain {
		add(wWebsite, Reason{"website", "normalized", "тот же сайт"})
	}
	if len(ws) == 0 {
		return 0, nil
	}
	miss := 1.0
	for _, w := range ws {
		miss *= 1 - w
	}
	// Reasons strongest first: the weights were added in a fixed order,
	// sort both together.
	idx := make([]int, len(ws))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		switch {
		case ws[i] > ws[j]:
			return -1
		case ws[i] < ws[j]:
			return 1
		}
		return 0
	})
	sorted := make([]Reason, len(idx))
	for k, i := range idx {
		sorted[k] = reasons[i]
	}
	return math.Round((1-miss)*1000) / 1000, sorted
}

// Blocking reports whether a and b are one legal entity at one place:
// the same ИНН and the same КПП, or the same ИНН where neither has a КПП.
func Blocking(a, b Record) bool {
	return a.INN != "" && a.INN == b.INN && a.KPP == b.KPP && (a.ID == 0 || a.ID != b.ID)
}

func innDetail(kpp string) string {
	if kpp == "" {
		return "совпадает ИНН"
	}
	return "совпадают ИНН и КПП"
}

func shared(a, b []string) bool {
	for _, x := range a {
		if x != "" && slices.Contains(b, x) {
			return true
		}
	}
	return false
}
