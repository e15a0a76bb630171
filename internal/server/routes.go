package server

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/crmprofi/crm/internal/dictionary"
	"github.com/crmprofi/crm/web/static"
)

// routes is the application's handler: the router behind cross-origin
// protection.
func (s *Server) routes() http.Handler {
	protection := http.NewCrossOriginProtection()
	return protection.Handler(s.router())
}

// router is every route of the application, in one place, grouped by
// concept. Resources are mounted twice — at "/" and at "/api" — with the
// same handlers, and respond picks the representation; page-only routes
// (forms, /new, /edit, /delete, /login, /admin) exist only outside /api,
// so /api answers JSON and nothing else. Routes that act on something are
// named (s.act) so that a refused attempt is audited in one place.
func (s *Server) router() *chi.Mux {
	r := chi.NewRouter()
	// admit (admission.go) comes before anything that works (the
	// session's query, the compressor) and after the body's bounds: it
	// reads an ordinary body before taking a slot.
	// syncSessions waits after the handler, compress's closing included,
	// while the answer is still held by net/http.
	r.Use(requestID, s.logRequests, s.securityHeaders, s.boundBodyRead, s.limitBodies, s.admit, s.syncSessions, compress) // limitBodies: limits.go

	// Operations: liveness, readiness, Prometheus (loopback or token).
	r.Get("/healthz", s.wrap(s.health))
	r.Get("/readyz", s.wrap(s.ready))
	r.Get("/metrics", s.serveMetrics)
	r.Handle("/static/*", static.Handler())
	r.Handle("/favicon.ico", static.Favicon())
	// A calendar feed: the token in the path is the credential.
	r.Get(feedPath+"{file}", s.wrap(s.calendarFeed))
	r.Head(feedPath+"{file}", s.wrap(s.calendarFeed))

	// Pages: signed in with the session cookie.
	r.Group(func(r chi.Router) {
		r.Use(s.authenticate, s.flashes)
		r.Get("/login", s.wrap(s.showLogin))
		r.Post("/login", s.wrap(s.login))
		r.Post("/logout", s.wrap(s.logout))
		r.Group(func(r chi.Router) {
			r.Use(s.requireUser, s.requirePasswordChange)
			// «Смените пароль»: where an admin's temporary password leads.
			r.Get(passwordChangePath, s.wrap(s.showPasswordChange))
			r.Post(passwordChangePath, s.wrap(s.changePassword))
			r.Get("/", func(w http.ResponseWriter, r *http.Request) { redirect(w, r, "/desk/") })
			s.resourceRoutes(r)
			s.pageRoutes(r)
			r.Route("/admin", func(r chi.Router) {
				r.Use(s.requireAdmin)
				s.adminRoutes(r)
			})
		})
	})

	// The JSON API: Bearer tokens or the browser session.
	r.Route("/api", func(r chi.Router) {
		// /api/token/… take credentials in the body; a stale Authorization
		// header sent along with a refresh must not get in the way.
		r.Post("/token/", s.wrap(s.obtainToken))
		r.Post("/token/refresh/", s.wrap(s.refreshToken))
		r.Post("/token/blacklist/", s.wrap(s.blacklistToken))
		// The API's own documentation: the OpenAPI 3.1 document and its
		// page, public (openapi.go).
		r.Get("/schema/", s.wrap(s.serveOpenAPI))
		r.Get("/docs/", s.wrap(s.serveAPIDocs))
		r.Group(func(r chi.Router) {
			r.Use(s.authenticate, s.requireUser, s.requirePasswordChange)
			s.resourceRoutes(r)
			s.apiRoutes(r)
		})
		// «Позвонить с телефона», the phone's side: its own credential.
		s.phoneDeviceRoutes(r)
		r.NotFound(s.apiNotFound(r))
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			_ = writeJSON(w, http.StatusMethodNotAllowed, detail{Detail: "Метод «" + r.Method + "» не разрешён."})
		})
	})
	r.NotFound(s.wrap(func(w http.ResponseWriter, r *http.Request) error { return errNotFound }))
	return r
}

// resourceRoutes are the resources, served under both "/" and "/api" by
// the same handlers: HTML or JSON by what the client asks for.
func (s *Server) resourceRoutes(r chi.Router) {
	// Users: the directory (everyone reads, admins write) and oneself.
	r.Get("/users/", s.wrap(s.listUsers))
	r.Post("/users/", s.act("user.create", "user", s.createUser))
	r.Get("/users/{id}/", s.wrap(s.showUser))
	r.Patch("/users/{id}/", s.act("user.update", "user", s.updateUser))
	r.Put("/users/{id}/", s.act("user.update", "user", s.updateUser))
	r.Get("/me/", s.wrap(s.showMe))
	r.Patch("/me/", s.wrap(s.updateMe))

	// Companies.
	r.Get("/companies/", s.act("company.list", "company", s.listCompanies))
	r.Post("/companies/", s.act("company.create", "company", s.createCompany))
	r.Get("/companies/{id}/", s.wrap(s.showCompany))
	r.Patch("/companies/{id}/", s.act("company.update", "company", s.updateCompany))
	r.Put("/companies/{id}/", s.act("company.update", "company", s.updateCompany))
	r.Delete("/companies/{id}/", s.act("company.delete", "company", s.deleteCompany))
	r.Post("/companies/{id}/restore/", s.act("company.restore", "company", s.restoreCompany))
	// Merge: the page (or its JSON preview), the merge and its undo.
	r.Get("/companies/{id}/merge/", s.wrap(s.showMerge))
	r.Post("/companies/{id}/merge/", s.act("company.merge", "company", s.mergeCompanies))
	r.Post("/companies/{id}/unmerge/", s.act("company.unmerge", "company", s.unmergeCompanies))

	// The export of the base (admins; every attempt audited as
	// export.companies): the file of what the list shows, or a job for a
	// large one.
	r.Get("/export/companies/", s.act(exportAction, "company", s.exportCompanies))
	r.Get("/export/companies/{id}/", s.wrap(s.showExport))         // a large export's job: its admin only
	r.Get("/export/companies/{id}/file", s.wrap(s.downloadExport)) // its file, for a day

	// Contacts.
	r.Get("/contacts/", s.wrap(s.listContacts))
	r.Post("/contacts/", s.act("contact.create", "contact", s.createContact))
	r.Get("/contacts/{id}/", s.wrap(s.showContact))
	r.Patch("/contacts/{id}/", s.act("contact.update", "contact", s.updateContact))
	r.Put("/contacts/{id}/", s.act("contact.update", "contact", s.updateContact))
	r.Delete("/contacts/{id}/", s.act("contact.delete", "contact", s.deleteContact))

	// Company notes.
	r.Get("/company-notes/", s.wrap(s.listNotes))
	r.Post("/company-notes/", s.act("note.create", "note", s.createNote))
	r.Get("/company-notes/{id}/", s.wrap(s.showNote))
	r.Patch("/company-notes/{id}/", s.act("note.update", "note", s.updateNote))
	r.Put("/company-notes/{id}/", s.act("note.update", "note", s.updateNote))
	r.Delete("/company-notes/{id}/", s.act("note.delete", "note", s.deleteNote))
	r.Post("/company-notes/{id}/pin/", s.act("note.pin", "note", s.pinNote))
	r.Post("/company-notes/{id}/unpin/", s.act("note.pin", "note", s.pinNote))

	// Tasks. Complete and skip answer {"task", "next"}; a form may send
	// next= (a local path) to come back to the page it was on.
	r.Get("/tasks/", s.wrap(s.listTasks))
	r.Post("/tasks/", s.act("task.create", "task", s.createTask))
	r.Get("/tasks/{id}/", s.wrap(s.showTask))
	r.Patch("/tasks/{id}/", s.act("task.update", "task", s.updateTask))
	r.Put("/tasks/{id}/", s.act("task.update", "task", s.updateTask))
	r.Delete("/tasks/{id}/", s.act("task.delete", "task", s.deleteTask))
	r.Post("/tasks/{id}/complete/", s.act("task.complete", "task", s.completeTask))
	r.Post("/tasks/{id}/skip/", s.act("task.skip", "task", s.skipTask))
	r.Post("/tasks/{id}/stop/", s.act("task.update", "task", s.stopSeries))
	r.Get("/tasks/{id}/comments/", s.wrap(s.listTaskComments))
	r.Post("/tasks/{id}/comments/", s.act("task.comment", "task", s.addTaskComment))
	r.Get("/tasks/{id}/history/", s.wrap(s.listTaskHistory))

	// Notifications: the signed-in user's own.
	r.Get("/notifications/", s.wrap(s.listNotifications))
	r.Post("/notifications/read-all/", s.wrap(s.readAllNotifications))
	r.Post("/notifications/{id}/read/", s.wrap(s.readNotification))
}

// apiRoutes are JSON-only: the dictionaries (everyone reads, admins
// write; their pages are under /admin), the audit log, the command
// palette's suggestions and the live events stream.
func (s *Server) apiRoutes(r chi.Router) {
	for _, k := range dictionary.Kinds {
		base := "/" + string(k) + "/"
		r.Get(base, s.wrap(s.listDictionary(k)))
		r.Post(base, s.act("dictionary.create", string(k), s.createDictionary(k)))
		r.Get(base+"{id}/", s.wrap(s.showDictionary(k)))
		r.Patch(base+"{id}/", s.act("dictionary.update", string(k), s.updateDictionary(k)))
		r.Put(base+"{id}/", s.act("dictionary.update", string(k), s.updateDictionary(k)))
		r.Delete(base+"{id}/", s.act("dictionary.delete", string(k), s.deleteDictionary(k)))
	}
	r.Get("/audit/", s.act("audit.list", "audit", s.listAudit))
	r.Get("/search/", s.wrap(s.suggest)) // the command palette's suggestions
	r.Get("/events/", s.wrap(s.events))  // the live events stream
	// The audit log, filtered, as CSV for Excel (admins; itself audited).
	r.Get("/audit/export/", s.act("audit.export", "audit", s.exportAudit))

	// Likely duplicates of what is typed in the company form (JSON; a
	// static path, so chi takes it before /companies/{id}/).
	r.Get("/companies/duplicates/", s.wrap(s.findDuplicates))

	// The desk and bulk actions on tasks (JSON; the pages are in pageRoutes).
	r.Get("/dashboard/", s.wrap(s.showDashboard))
	r.Post("/tasks/bulk/", s.wrap(s.bulkTasks))
	r.Post("/tasks/bulk/undo/", s.wrap(s.undoBulk))

	// The task form's recurrence builder: description and next dates.
	r.Get("/tasks/recurrence/", s.wrap(s.previewRecurrence))

	// The import of amoCRM's export (admins; a refusal is audited as
	// import.amo). report/ is the CSV download, or the rows as JSON.
	r.Get("/imports/", s.act("import.amo", "import", s.listImports))
	r.Post("/imports/", s.act("import.amo", "import", s.createImport))
	r.Get("/imports/{id}/", s.act("import.amo", "import", s.showImport))
	r.Get("/imports/{id}/report/", s.act("import.amo", "import", s.importReport))
	r.Post("/imports/{id}/run/", s.act("import.amo", "import", s.importFromDryRun))

	// «Позвонить с телефона», the CRM side: pairing a phone (one's own),
	// the phones (admins: everyone's), call requests.
	r.Post("/phone/pairings/", s.act("phone.pair", "phone_pairing", s.createPairing))
	r.Get("/phone/pairings/{id}/", s.wrap(s.showPairing))
	r.Get("/phone/pairings/{id}/qr.png", s.wrap(s.pairingQRImage)) // the owner's QR code while it waits (phone_page.go)
	r.Post("/phone/pairings/{id}/confirm/", s.act("phone.confirm", "phone_pairing", s.confirmPairing))
	r.Post("/phone/pairings/{id}/reject/", s.act("phone.reject", "phone_pairing", s.rejectPairing))
	r.Get("/phone/devices/", s.wrap(s.listPhoneDevices))
	r.Delete("/phone/devices/{id}/", s.act("phone.revoke", "phone_device", s.revokePhoneDevice))
	r.Post("/call-requests/", s.act("phone.call_request", "call_request", s.createCallRequest))
	r.Get("/call-requests/{id}/", s.wrap(s.showCallRequest))
	r.Post("/call-requests/{id}/cancel/", s.act("phone.call_cancel", "call_request", s.cancelCallRequest))

	// The bell's count, and the secret URL of one's calendar feed.
	r.Get("/notifications/unread-count/", s.wrap(s.unreadNotifications))
	r.Post("/me/calendar-feed/", s.wrap(s.enableCalendarFeed))
	r.Delete("/me/calendar-feed/", s.wrap(s.disableCalendarFeed))
}

// pageRoutes are the pages and HTML forms outside the admin section. A
// form posts to the same handler as the API's verb for that action.
func (s *Server) pageRoutes(r chi.Router) {
	r.Get("/profile/", s.wrap(s.showProfile))
	r.Post("/profile/", s.wrap(s.updateMe))
	r.Post("/profile/calendar-feed", s.wrap(s.enableCalendarFeed))
	r.Post("/profile/calendar-feed/delete", s.wrap(s.disableCalendarFeed))

	// The desk, the page after sign-in (/ leads here).
	r.Get("/desk/", s.wrap(s.showDesk))
	r.Post("/tasks/bulk/", s.wrap(s.bulkTasks)) // the desk's «Перенести», a list without its script

	r.Get("/companies/new", s.wrap(s.newCompany))
	r.Get("/companies/{id}/edit", s.wrap(s.editCompany))
	r.Post("/companies/{id}/", s.act("company.update", "company", s.updateCompany))
	r.Post("/companies/{id}/delete", s.act("company.delete", "company", s.deleteCompany))

	r.Get("/contacts/new", s.wrap(s.newContact))
	r.Get("/contacts/{id}/edit", s.wrap(s.editContact))
	r.Post("/contacts/{id}/edit", s.act("contact.update", "contact", s.updateContact))
	r.Post("/contacts/{id}/delete", s.act("contact.delete", "contact", s.deleteContact))

	r.Get("/tasks/new", s.wrap(s.newTask))
	r.Get("/tasks/{id}/edit", s.wrap(s.editTask))
	r.Post("/tasks/{id}/", s.act("task.update", "task", s.updateTask))
	r.Post("/tasks/{id}/delete", s.act("task.delete", "task", s.deleteTask))

	// The company card's timeline: quick-add, the edit page, delete, pin.
	r.Post("/companies/{id}/notes/", s.act("note.create", "company", s.createNote)) // {id} is the company
	r.Get("/notes/{id}/edit", s.wrap(s.editNote))
	r.Post("/notes/{id}/edit", s.act("note.update", "note", s.updateNote))
	r.Post("/notes/{id}/delete", s.act("note.delete", "note", s.deleteNote))
	r.Post("/notes/{id}/pin", s.act("note.pin", "note", s.pinNote))

	// «Мой телефон»: pair (a QR code, then the code to confirm), unpair.
	r.Get("/phone/", s.wrap(s.showPhonePage))
	r.Post("/phone/pair", s.act("phone.pair", "phone_pairing", s.pairFromPage))
	r.Post("/phone/pairings/{id}/confirm", s.act("phone.confirm", "phone_pairing", s.confirmFromPage))
	r.Post("/phone/pairings/{id}/reject", s.act("phone.reject", "phone_pairing", s.rejectFromPage))
	r.Post("/phone/devices/{id}/revoke", s.act("phone.revoke", "phone_device", s.unpairFromPage("/phone/")))

	// «Импорт из amoCRM», a page of the admin section kept outside the
	// /admin mount so that a refusal is audited as the import it was
	// (import.amo), not as a visit to the section; each handler checks
	// that the user is an admin.
	r.Get("/admin/imports/", s.act("import.amo", "import", s.listImports))
	r.Post("/admin/imports/", s.act("import.amo", "import", s.createImport))
	r.Get("/admin/imports/{id}/", s.act("import.amo", "import", s.showImport))
	r.Post("/admin/imports/{id}/run", s.act("import.amo", "import", s.importFromDryRun))

	// The audit log's CSV export, outside the /admin mount for the same
	// reason: a refusal is audited as the export it was (audit.export).
	r.Get("/admin/audit/export/", s.act("audit.export", "audit", s.exportAudit))
}

// adminRoutes is the admin section, mounted at /admin behind requireAdmin.
func (s *Server) adminRoutes(r chi.Router) {
	r.Get("/", s.wrap(s.adminIndex))

	r.Get("/users/", s.wrap(s.adminListUsers))
	r.Get("/users/new", s.wrap(s.adminNewUser))
	r.Post("/users/", s.act("user.create", "user", s.createUser))
	r.Get("/users/{id}/", s.wrap(s.adminEditUser))
	r.Post("/users/{id}/", s.act("user.update", "user", s.updateUser))
	r.Post("/users/{id}/password", s.act("user.update", "user", s.resetPassword))
	r.Post("/users/{id}/active", s.act("user.update", "user", s.setActive))

	for _, k := range dictionary.Kinds {
		base := "/dictionaries/" + string(k) + "/"
		r.Get(base, s.wrap(s.adminDictionaryList(k)))
		r.Post(base, s.act("dictionary.create", string(k), s.createDictionary(k)))
		r.Get(base+"{id}/", s.wrap(s.adminDictionaryEdit(k)))
		r.Post(base+"{id}/", s.act("dictionary.update", string(k), s.updateDictionary(k)))
		r.Post(base+"{id}/delete", s.act("dictionary.delete", string(k), s.deleteDictionary(k)))
	}
	r.Get("/dictionaries/", func(w http.ResponseWriter, r *http.Request) { redirect(w, r, "/admin/") })

	r.Get("/audit/", s.wrap(s.adminAudit))

	// Everyone's phones («Позвонить с телефона»), each with «Отвязать».
	r.Get("/phones/", s.wrap(s.adminPhones))
	r.Post("/phones/{id}/revoke", s.act("phone.revoke", "phone_device", s.unpairFromPage("/admin/phones/")))

	r.Get("/duplicates/", s.wrap(s.adminDuplicates))
	r.Post("/duplicates/scan", s.act("duplicate.scan", "duplicate_scan", s.startDuplicateScan))
	r.Post("/duplicates/dismiss", s.act("duplicate.dismiss", "company", s.dismissDuplicate))

	r.Get("/trash/companies/", s.wrap(s.companyTrash))
	r.Post("/trash/companies/{id}/restore", s.act("company.restore", "company", s.restoreCompany))
	r.Get("/trash/contacts/", s.wrap(s.contactTrash))
	r.Post("/trash/contacts/{id}/restore", s.act("contact.restore", "contact", s.restoreContact))
}

// apiNotFound redirects an API path missing its trailing slash to the
// slashed path (308 keeps the method and body) when that path exists.
func (s *Server) apiNotFound(api chi.Router) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/") {
			rctx := chi.NewRouteContext()
			if api.Match(rctx, r.Method, strings.TrimPrefix(r.URL.Path, "/api")+"/") {
				target := r.URL.Path + "/"
				if r.URL.RawQuery != "" {
					target += "?" + r.URL.RawQuery
				}
				http.Redirect(w, r, target, http.StatusPermanentRedirect) //nolint:gosec // target is this request's own /api path plus a slash
				return
			}
		}
		_ = writeJSON(w, http.StatusNotFound, detail{Detail: "Страница не найдена."})
	}
}

// phoneDeviceRoutes are the phone's endpoints under /api/phone/v1 (no
// trailing slashes, as the contract fixes them): pair takes the QR code's
// secret, the rest the device credential.
func (s *Server) phoneDeviceRoutes(r chi.Router) {
	r.Post("/phone/v1/pair", s.deviceWrap(s.pairDevice))
	r.Group(func(r chi.Router) {
		r.Use(s.authenticateDevice)
		r.Get("/phone/v1/device", s.deviceWrap(s.showDevice))
		r.Put("/phone/v1/device/push", s.deviceWrap(s.setDevicePush))
		r.Post("/phone/v1/device/unpair", s.deviceWrap(s.unpairDevice))
		r.Get("/phone/v1/commands", s.deviceWrap(s.deviceCommands))
		r.Get("/phone/v1/commands/{id}", s.deviceWrap(s.showCommand))
		r.Post("/phone/v1/commands/{id}/events", s.deviceWrap(s.commandEvent))
	})
}
