package demo

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/note"
	"github.com/crmprofi/crm/internal/progress"
)

// Options says how much to load.
type Options struct {
	Companies int
	Contacts  int
	// NotesPerCompany is the average number of notes; 0 means none.
	NotesPerCompany float64
	// TasksPerUser is how many tasks each demo user is given as the
	// assignee (the desk); 0 means none.
	TasksPerUser int
	// Users is the number of demo users; fewer than the 35 of the demo's
	// staff (0 included) means those 35. More are managers added to the
	// branches in turn (the benchmark's 200).
	Users int
	// Tasks is the total number of tasks to bulk-load over all demo users
	// (the benchmark's history, see LoadTasks); 0 means none.
	Tasks int
	// BusyID is the user given a larger share of Tasks (the benchmark's
	// viewer); 0 picks the manager of Summary.ManagerID.
	BusyID int64
	Seed   uint64
	// Password is every demo user's password; "" leaves the users without
	// one (the benchmark signs in through sessions).
	Password string
	// Progress reports each stage of the load; nil shows nothing.
	Progress progress.Factory
}

// User is a demo user worth printing.
type User struct {
	Username, FullName, Role, Scope string
}

// Summary is what the base holds after Load.
type Summary struct {
	Companies, Contacts, Notes, Tasks int
	// AdminID and ManagerID are an administrator and a manager who sees
	// only their own companies.
	AdminID, ManagerID int64
	Users              []User
}

// batchSize is the number of rows written per transaction.
const batchSize = 1000

// Load fills db up to the requested volumes: dictionaries, 35 users over
// three branches, companies, contacts and notes. Running it again adds
// only what is missing, so a benchmark database is loaded once.
func Load(ctx context.Context, db *database.DB, opt Options) (Summary, error) {
	var sum Summary
	if opt.Progress == nil {
		opt.Progress = progress.Discard
	}
	dict, err := loadDictionaries(ctx, db)
	if err != nil {
		return sum, err
	}
	team, err := loadUsers(ctx, db, dict, opt.Password, opt.Users)
	if err != nil {
		return sum, err
	}
	sum.AdminID, sum.ManagerID, sum.Users = team.adminID, team.managerID, team.printable
	g := New(opt.Seed)

	have, err := count(ctx, db, "companies")
	if err != nil {
		return sum, err
	}
	companies := company.NewStore(db)
	if have < opt.Companies {
		bar := opt.Progress("Компании")
		bar.Start(int64(opt.Companies - have))
		for from := have; from < opt.Companies; from += batchSize {
			to := min(from+batchSize, opt.Companies)
			batch := make([]company.NewCompany, 0, to-from)
			for i := from; i < to; i++ {
				batch = append(batch, team.newCompany(g, dict, i))
			}
			if err := db.InTx(ctx, func(tx *sql.Tx) error {
				_, err := companies.InsertBatch(ctx, tx, batch)
				return err
			}); err != nil {
				err = fmt.Errorf("companies %d–%d: %w", from, to, err)
				bar.Finish(err)
				return sum, err
			}
			bar.Add(int64(to - from))
		}
		bar.Finish(nil)
	}
	if sum.Companies, err = count(ctx, db, "companies"); err != nil {
		return sum, err
	}

	if have, err = count(ctx, db, "contacts"); err != nil {
		return sum, err
	}
	contacts := contact.NewStore(db)
	if have < opt.Contacts && sum.Companies > 0 {
		bar := opt.Progress("Контакты")
		bar.Start(int64(opt.Contacts - have))
		for from := have; from < opt.Contacts; from += batchSize {
			to := min(from+batchSize, opt.Contacts)
			batch := make([]contact.NewContact, 0, to-from)
			for i := from; i < to; i++ {
				batch = append(batch, newContact(g, team, int64(1+i*sum.Companies/max(opt.Contacts, 1))))
			}
			if err := db.InTx(ctx, func(tx *sql.Tx) error { return contacts.InsertBatch(ctx, tx, batch) }); err != nil {
				err = fmt.Errorf("contacts %d–%d: %w", from, to, err)
				bar.Finish(err)
				return sum, err
			}
			bar.Add(int64(to - from))
		}
		bar.Finish(nil)
	}
	if sum.Contacts, err = count(ctx, db, "contacts"); err != nil {
		return sum, err
	}

	wantNotes := int(opt.NotesPerCompany * float64(sum.Companies))
	if have, err = count(ctx, db, "company_notes"); err != nil {
		return sum, err
	}
	notes := note.NewStore(db)
	if have < wantNotes {
		bar := opt.Progress("Заметки")
		bar.Start(int64(wantNotes - have))
		for from := have; from < wantNotes; from += batchSize {
			to := min(from+batchSize, wantNotes)
			batch := make([]note.NewNote, 0, to-from)
			for i := from; i < to; i++ {
				batch = append(batch, note.NewNote{
					CompanyID: int64(1 + g.Intn(sum.Companies)),
					AuthorID:  team.managers[g.Intn(len(team.managers))].id,
					Type:      []string{"note", "call_out", "call_in", "email_out"}[g.Intn(4)],
					Text:      g.NoteText(),
					CreatedAt: time.Now().UTC().Add(-time.Duration(g.Intn(700*24)) * time.Hour).Truncate(time.Microsecond),
				})
			}
			if err := db.InTx(ctx, func(tx *sql.Tx) error { return notes.InsertBatch(ctx, tx, batch) }); err != nil {
				err = fmt.Errorf("notes %d–%d: %w", from, to, err)
				bar.Finish(err)
				return sum, err
			}
			bar.Add(int64(to - from))
		}
		bar.Finish(nil)
	}
	if sum.Notes, err = count(ctx, db, "company_notes"); err != nil {
		return sum, err
	}
	if opt.TasksPerUser > 0 {
		if sum.Tasks, err = loadTasks(ctx, db, g, opt.TasksPerUser, sum.Companies); err != nil {
			return sum, err
		}
	}
	if opt.Tasks > 0 {
		busy := opt.BusyID
		if busy == 0 {
			busy = sum.ManagerID
		}
		if sum.Tasks, err = loadTaskHistory(ctx, db, opt, busy, sum.Companies); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

func count(ctx context.Context, db *database.DB, table string) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n) //nolint:gosec // table names are constants
	return n, err
}

// dictionaries holds the ids of the demo's dictionary rows.
type dictionaries struct {
	branches []int64
	statuses []int64
	spheres  []int64
}

// loadDictionaries inserts the demo's branches, statuses, spheres and
// task types unless they exist, and returns their ids.
func loadDictionaries(ctx context.Context, db *database.DB) (dictionaries, error) {
	var d dictionaries
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		for _, b := range []struct{ code, name, tz string }{
			{"MSK", "Москва", "Europe/Moscow"},
			{"SPB", "Санкт-Петербург", "Europe/Moscow"},
			{"NSK", "Новосибирск", "Asia/Novosibirsk"},
		} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO branches (code, name, time_zone) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING`, b.code, b.name, b.tz); err != nil {
				return err
			}
		}
		for i, name := range statusNames {
			if _, err := tx.ExecContext(ctx, `INSERT INTO company_statuses (name, position) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, i); err != nil {
				return err
			}
		}
		for _, name := range sphereNames {
			if _, err := tx.ExecContext(ctx, `INSERT INTO spheres (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, name); err != nil {
				return err
			}
		}
		for _, name := range taskTypeNames {
			if _, err := tx.ExecContext(ctx, `INSERT INTO task_types (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, name); err != nil {
				return err
			}
		}
		var err error
		if d.branches, err = database.Column[int64](ctx, tx, `SELECT id FROM branches ORDER BY id`); err != nil {
			return err
		}
		if d.statuses, err = database.Column[int64](ctx, tx, `SELECT id FROM company_statuses ORDER BY position, id`); err != nil {
			return err
		}
		d.spheres, err = database.Column[int64](ctx, tx, `SELECT id FROM spheres ORDER BY id`)
		return err
	})
	return d, err
}

type member struct {
	id     int64
	branch int64
}

// team is the demo's staff.
type team struct {
	adminID, managerID int64
	managers           []member
	printable          []User
}

// loadUsers creates the demo's 35 users unless they exist: an admin, a
// group manager, a director per branch and ten managers per branch; and
// more managers, branch by branch, up to total users.
func loadUsers(ctx context.Context, db *database.DB, d dictionaries, password string, total int) (team, error) {
	var t team
	hash := ""
	if password != "" {
		var err error
		if hash, err = auth.HashPassword(password); err != nil {
			return t, err
		}
	}
	g := New(99)
	type spec struct {
		username, first, last string
		role                  access.Role
		scope                 access.DataScope
		branch                int64
	}
	specs := []spec{
		{"demo-admin", "Ирина", "Администраторова", access.RoleAdmin, access.Global, 0},
		{"demo-group", "Дмитрий", "Управляев", access.RoleGroupManager, access.Global, 0},
	}
	for bi, b := range d.branches {
		specs = append(specs, spec{fmt.Sprintf("demo-director-%d", bi+1), "", "", access.RoleBranchDirector, access.Branch, b})
		for m := range 10 {
			scope := access.Self
			if m%4 == 3 {
				scope = access.Global
			}
			specs = append(specs, spec{fmt.Sprintf("demo-manager-%d-%d", bi+1, m+1), "", "", access.RoleManager, scope, b})
		}
	}
	for i := 0; len(d.branches) > 0 && len(specs) < total; i++ {
		bi, m := i%len(d.branches), 10+i/len(d.branches)
		scope := access.Self
		if m%4 == 3 {
			scope = access.Global
		}
		specs = append(specs, spec{fmt.Sprintf("demo-manager-%d-%d", bi+1, m+1), "", "", access.RoleManager, scope, d.branches[bi]})
	}
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		for _, s := range specs {
			if s.first == "" {
				last, first, _ := g.person()
				s.first, s.last = first, last
			}
			var id int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE username = $1`, s.username).Scan(&id)
			if err == sql.ErrNoRows {
				err = tx.QueryRowContext(ctx, `INSERT INTO users (username, first_name, last_name, email, password_hash, role, data_scope, branch_id, date_joined)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
					s.username, s.first, s.last, s.username+"@demo.crm", hash, string(s.role), string(s.scope), database.NullInt64(s.branch), database.Now()).Scan(&id)
			}
			if err != nil {
				return fmt.Errorf("demo user %s: %w", s.username, err)
			}
			switch {
			case s.role == access.RoleAdmin:
				t.adminID = id
			case s.role == access.RoleManager && s.scope == access.Self && t.managerID == 0:
				t.managerID = id
			}
			if s.role == access.RoleManager || s.role == access.RoleBranchDirector {
				t.managers = append(t.managers, member{id: id, branch: s.branch})
			}
			if len(t.printable) < 5 || s.role != access.RoleManager {
				t.printable = append(t.printable, User{Username: s.username, FullName: s.first + " " + s.last, Role: s.role.Label(), Scope: s.scope.Label()})
			}
		}
		return nil
	})
	return t, err
}

// newCompany turns the i-th generated company into a row owned by one of
// the team's managers.
func (t team) newCompany(g *Generator, d dictionaries, i int) company.NewCompany {
	c := g.Company(i)
	owner := t.managers[g.Intn(len(t.managers))]
	n := company.NewCompany{
		Name: c.Name, LegalName: c.LegalName, INN: c.INN, KPP: c.KPP, OGRN: c.OGRN,
		Address: c.Address, Website: c.Website,
		StatusID: d.statuses[g.Intn(len(d.statuses))], BranchID: owner.branch,
		ResponsibleID: owner.id, CreatedBy: owner.id,
		Spheres:   []int64{d.spheres[g.Intn(len(d.spheres))]},
		CreatedAt: time.Now().UTC().Add(-time.Duration(g.Intn(700*24)) * time.Hour).Truncate(time.Microsecond),
	}
	for _, p := range c.Phones {
		n.Phones = append(n.Phones, company.Phone{Value: p.Value, Kind: p.Kind, Comment: p.Comment})
	}
	for _, e := range c.Emails {
		n.Emails = append(n.Emails, company.Email{Value: e, Kind: "work"})
	}
	_ = n.Normalize() // generated data is valid by construction; the test suite checks it
	return n
}

// newContact is a generated person working at companyID.
func newContact(g *Generator, t team, companyID int64) contact.NewContact {
	p := g.Contact()
	in := contact.NewContact{
		CompanyID: companyID, LastName: p.LastName, FirstName: p.FirstName, MiddleName: p.MiddleName,
		Position: p.Position, CreatedBy: t.managers[g.Intn(len(t.managers))].id,
	}
	for _, ph := range p.Phones {
		in.Phones = append(in.Phones, contact.Phone{Value: ph.Value, Kind: ph.Kind})
	}
	for _, e := range p.Emails {
		in.Emails = append(in.Emails, contact.Email{Value: e, Kind: "work"})
	}
	return in
}
