package view

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"github.com/crmprofi/crm/web/static"
)

// render renders c (with children, when given) and parses the result.
func render(t *testing.T, c templ.Component, children ...templ.Component) *goquery.Document {
	t.Helper()
	ctx := context.Background()
	if len(children) > 0 {
		ctx = templ.WithChildren(ctx, children[0])
	}
	var buf bytes.Buffer
	if err := c.Render(ctx, &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc
}

// one finds exactly one element for sel.
func one(t *testing.T, doc *goquery.Document, sel string) *goquery.Selection {
	t.Helper()
	s := doc.Find(sel)
	if s.Length() != 1 {
		t.Fatalf("%s: found %d elements, want 1", sel, s.Length())
	}
	return s
}

func attr(s *goquery.Selection, name string) string {
	v, _ := s.Attr(name)
	return v
}

func pageBody() templ.Component {
	return templ.Raw(`<p data-testid="page-body">Тело страницы</p>`)
}

func TestLayoutWithUser(t *testing.T) {
	s := Shell{
		Title:  "Компании",
		User:   &ShellUser{FullName: "Анна Смирнова"},
		Active: "companies",
		Search: "ромашка",
		Toasts: []Toast{{Kind: "success", Text: "Компания сохранена"}, {Kind: "error", Text: "Не удалось"}},
	}
	doc := render(t, Layout(s), pageBody())

	t.Run("the document is Russian, titled, and links our assets", func(t *testing.T) {
		if got := attr(doc.Find("html"), "lang"); got != "ru" {
			t.Errorf("lang = %q", got)
		}
		if got := doc.Find("title").Text(); got != "Компании · CRM ПРОФИ" {
			t.Errorf("title = %q", got)
		}
		if one(t, doc, `meta[name="viewport"]`).Length() != 1 {
			t.Error("no viewport")
		}
		if got := attr(one(t, doc, `link[rel="stylesheet"]`), "href"); got != static.Path("app.css") {
			t.Errorf("stylesheet = %q", got)
		}
		script := one(t, doc, "script[src]")
		if attr(script, "src") != static.Path("app.js") {
			t.Errorf("script = %q", attr(script, "src"))
		}
		if _, ok := script.Attr("defer"); !ok {
			t.Error("script is not deferred")
		}
	})

	t.Run("the header has the menu button, search and user", func(t *testing.T) {
		menu := one(t, doc, `[data-testid="menu-toggle"]`)
		if _, ok := menu.Attr("data-menu-toggle"); !ok || attr(menu, "aria-label") != "Меню" || attr(menu, "aria-controls") != "rail" {
			t.Errorf("menu button attributes wrong: %v", menu.Nodes[0].Attr)
		}
		search := one(t, doc, `[data-testid="global-search"]`)
		if attr(search, "name") != "search" || attr(search, "id") != "global-search" || attr(search, "value") != "ромашка" {
			t.Errorf("search attributes wrong: %v", search.Nodes[0].Attr)
		}
		if !strings.HasPrefix(attr(search, "placeholder"), "Поиск: название, ИНН, телефон") {
			t.Errorf("placeholder = %q", attr(search, "placeholder"))
		}
		form := search.Closest("form")
		if attr(form, "action") != "/companies/" || attr(form, "method") != "get" {
			t.Errorf("search form: action %q method %q", attr(form, "action"), attr(form, "method"))
		}
		if doc.Find(`label[for="global-search"]`).Length() != 1 {
			t.Error("search box has no label")
		}
		if got := one(t, doc, `[data-testid="user-name"]`).Text(); got != "Анна Смирнова" {
			t.Errorf("user name = %q", got)
		}
		logout := one(t, doc, `[data-testid="logout"]`).Closest("form")
		if attr(logout, "method") != "post" || attr(logout, "action") != "/logout" {
			t.Errorf("logout form: method %q action %q", attr(logout, "method"), attr(logout, "action"))
		}
	})

	t.Run("the rail lists the sections and marks the active one", func(t *testing.T) {
		rail := one(t, doc, `nav[data-testid="rail"]`)
		if attr(rail, "id") != "rail" || attr(rail, "aria-label") == "" {
			t.Error("rail needs id=rail and an aria-label")
		}
		companies := one(t, doc, `[data-testid="nav-companies"]`)
		if attr(companies, "href") != "/companies/" || attr(companies, "aria-current") != "page" {
			t.Errorf("companies item: href %q aria-current %q", attr(companies, "href"), attr(companies, "aria-current"))
		}
		if strings.TrimSpace(companies.Text()) != "Компании" || companies.Find("svg.icon use").Length() != 1 {
			t.Error("menu items are icon + text")
		}
		contacts := one(t, doc, `[data-testid="nav-contacts"]`)
		if _, ok := contacts.Attr("aria-current"); ok {
			t.Error("inactive item has aria-current")
		}
		if doc.Find(`[data-testid="nav-admin"]`).Length() != 0 {
			t.Error("a manager sees Администрирование")
		}
	})

	t.Run("the page goes into main after a skip link", func(t *testing.T) {
		skip := doc.Find("body a").First()
		if attr(skip, "href") != "#main" || skip.Text() != "Перейти к содержимому" {
			t.Errorf("first link is %q → %q, want the skip link", skip.Text(), attr(skip, "href"))
		}
		if one(t, doc, "main#main.content").Find(`[data-testid="page-body"]`).Length() != 1 {
			t.Error("children are not inside main")
		}
	})

	t.Run("toasts carry their kind and role", func(t *testing.T) {
		toasts := doc.Find(`[data-testid="toast"]`)
		if toasts.Length() != 2 {
			t.Fatalf("%d toasts", toasts.Length())
		}
		ok, bad := toasts.Eq(0), toasts.Eq(1)
		if !ok.HasClass("toast-success") || attr(ok, "role") != "status" || !strings.Contains(ok.Text(), "Компания сохранена") {
			t.Errorf("success toast wrong: %v", ok.Nodes[0].Attr)
		}
		if !bad.HasClass("toast-error") || attr(bad, "role") != "alert" {
			t.Errorf("error toast wrong: %v", bad.Nodes[0].Attr)
		}
		if attr(ok.Find(".toast-close"), "aria-label") != "Закрыть" {
			t.Error("toast close button is not labelled")
		}
	})
}

func TestLayoutAdminSeesAdministration(t *testing.T) {
	doc := render(t, Layout(Shell{Title: "Пользователи", User: &ShellUser{FullName: "Админ Главный", IsAdmin: true}, Active: "admin"}), pageBody())
	admin := one(t, doc, `[data-testid="nav-admin"]`)
	if attr(admin, "href") != "/admin/" || attr(admin, "aria-current") != "page" || !strings.Contains(admin.Text(), "Администрирование") {
		t.Errorf("admin item: href %q aria-current %q text %q", attr(admin, "href"), attr(admin, "aria-current"), admin.Text())
	}
	var keys []string
	for _, m := range Menu(&ShellUser{IsAdmin: true}) {
		keys = append(keys, m.Key)
	}
	if got := strings.Join(keys, ","); got != "desk,tasks,companies,contacts,admin" {
		t.Errorf("admin menu = %s", got)
	}
	if Menu(nil) != nil {
		t.Error("Menu(nil) is not empty")
	}
}

func TestLayoutWithoutUser(t *testing.T) {
	doc := render(t, Layout(Shell{Title: "Вход"}), pageBody())
	if got := doc.Find("title").Text(); got != "Вход · CRM ПРОФИ" {
		t.Errorf("title = %q", got)
	}
	for _, sel := range []string{`[data-testid="rail"]`, `[data-testid="menu-toggle"]`, `[data-testid="global-search"]`, `[data-testid="user-name"]`} {
		if doc.Find(sel).Length() != 0 {
			t.Errorf("sign-in frame has %s", sel)
		}
	}
	if !doc.Find("body").HasClass("auth") {
		t.Error("sign-in frame is not the centred auth frame")
	}
	if one(t, doc, "main#main").Find(`[data-testid="page-body"]`).Length() != 1 {
		t.Error("children are not inside main")
	}
}

func TestLayoutEscapesText(t *testing.T) {
	doc := render(t, Layout(Shell{Title: "<b>x</b>", User: &ShellUser{FullName: `<script>alert(1)</script>`}}), pageBody())
	if doc.Find("body script").Length() != 0 {
		t.Error("user name was not escaped")
	}
	if got := doc.Find(`[data-testid="user-name"]`).Text(); got != `<script>alert(1)</script>` {
		t.Errorf("user name = %q", got)
	}
}

func TestField(t *testing.T) {
	t.Run("an error is tied to the control", func(t *testing.T) {
		doc := render(t, Field(FieldProps{
			Name: "inn", Label: "ИНН", Value: "123", Error: "Неверная контрольная сумма ИНН",
			Hint: "10 или 12 цифр", Required: true, Attrs: templ.Attributes{"inputmode": "numeric"},
		}))
		wrap := one(t, doc, `[data-testid="field-inn"]`)
		input := one(t, doc, "input#f-inn")
		if attr(one(t, doc, "label"), "for") != "f-inn" {
			t.Error("label is not for the input")
		}
		if attr(input, "name") != "inn" || attr(input, "type") != "text" || attr(input, "value") != "123" || attr(input, "inputmode") != "numeric" {
			t.Errorf("input attributes wrong: %v", input.Nodes[0].Attr)
		}
		if _, ok := input.Attr("required"); !ok {
			t.Error("required is missing")
		}
		if attr(input, "aria-invalid") != "true" {
			t.Error("aria-invalid is missing")
		}
		errEl := wrap.Find(`[data-testid="error-inn"]`)
		if errEl.Text() != "Неверная контрольная сумма ИНН" {
			t.Errorf("error text = %q", errEl.Text())
		}
		ids := strings.Fields(attr(input, "aria-describedby"))
		if len(ids) != 2 || ids[0] != attr(wrap.Find(".field-hint"), "id") || ids[1] != attr(errEl, "id") {
			t.Errorf("aria-describedby = %q", attr(input, "aria-describedby"))
		}
	})

	t.Run("without an error there is no aria-invalid", func(t *testing.T) {
		doc := render(t, Field(FieldProps{Name: "email", Label: "E-mail", Type: "email"}))
		input := one(t, doc, "input#f-email")
		if _, ok := input.Attr("aria-invalid"); ok {
			t.Error("aria-invalid without an error")
		}
		if _, ok := input.Attr("aria-describedby"); ok {
			t.Error("aria-describedby without a hint or error")
		}
		if attr(input, "type") != "email" || doc.Find(`[data-testid="error-email"]`).Length() != 0 {
			t.Error("wrong type or a stray error")
		}
	})

	t.Run("a textarea keeps its text and rows", func(t *testing.T) {
		doc := render(t, Field(FieldProps{Name: "text", Label: "Заметка", Type: "textarea", Value: "строка <1>", Rows: 6}))
		ta := one(t, doc, "textarea#f-text")
		if ta.Text() != "строка <1>" || attr(ta, "rows") != "6" {
			t.Errorf("textarea: text %q rows %q", ta.Text(), attr(ta, "rows"))
		}
	})

	t.Run("a password is never echoed", func(t *testing.T) {
		doc := render(t, Field(FieldProps{Name: "password", Label: "Пароль", Type: "password", Value: "secret"}))
		if _, ok := one(t, doc, "input#f-password").Attr("value"); ok {
			t.Error("password value rendered")
		}
	})

	t.Run("a select marks the chosen option", func(t *testing.T) {
		doc := render(t, SelectField(FieldProps{Name: "status", Label: "Статус", Value: "client", Placeholder: "Все"},
			[]Option{{Value: "lead", Label: "Лид"}, {Value: "client", Label: "Клиент"}}))
		opts := doc.Find("select#f-status option")
		if opts.Length() != 3 || attr(opts.Eq(0), "value") != "" {
			t.Fatalf("%d options", opts.Length())
		}
		if _, ok := opts.Eq(2).Attr("selected"); !ok {
			t.Error("Клиент is not selected")
		}
		if _, ok := opts.Eq(1).Attr("selected"); ok {
			t.Error("Лид is selected")
		}
	})

	t.Run("a checkbox has its label beside it", func(t *testing.T) {
		doc := render(t, CheckboxField(FieldProps{Name: "active", Label: "Активен"}, true))
		cb := one(t, doc, `input[type="checkbox"]#f-active`)
		if _, ok := cb.Attr("checked"); !ok || attr(cb, "value") != "on" {
			t.Errorf("checkbox attributes wrong: %v", cb.Nodes[0].Attr)
		}
	})
}

func TestFormErrors(t *testing.T) {
	if doc := render(t, FormErrors(nil)); doc.Find(`[data-testid="form-errors"]`).Length() != 0 {
		t.Error("empty FormErrors rendered a box")
	}
	doc := render(t, FormErrors([]string{"Первая", "Вторая"}))
	box := one(t, doc, `[data-testid="form-errors"]`)
	if attr(box, "role") != "alert" || box.Find("li").Length() != 2 {
		t.Errorf("form errors box wrong: role %q, %d items", attr(box, "role"), box.Find("li").Length())
	}
}

func TestPagination(t *testing.T) {
	url := func(p int) string { return "/companies/?page=" + strconv.Itoa(p) }

	t.Run("a middle page links both ways", func(t *testing.T) {
		doc := render(t, Pagination(Pager{Page: 3, Pages: 120, Count: 1234, URL: url}))
		if got := one(t, doc, `[data-testid="found"]`).Text(); got != "Найдено: 1\u202f234" {
			t.Errorf("count = %q", got)
		}
		if got := one(t, doc, `[data-testid="page-of"]`).Text(); got != "Стр. 3 из 120" {
			t.Errorf("page = %q", got)
		}
		prev := one(t, doc, `[data-testid="page-prev"]`)
		next := one(t, doc, `[data-testid="page-next"]`)
		if attr(prev, "href") != "/companies/?page=2" || !strings.Contains(prev.Text(), "Назад") {
			t.Errorf("prev: %q %q", attr(prev, "href"), prev.Text())
		}
		if attr(next, "href") != "/companies/?page=4" || !strings.Contains(next.Text(), "Вперёд") {
			t.Errorf("next: %q %q", attr(next, "href"), next.Text())
		}
		if attr(doc.Find("nav.pagination-nav"), "aria-label") == "" {
			t.Error("pagination nav is not labelled")
		}
	})

	t.Run("the first page has no link back", func(t *testing.T) {
		doc := render(t, Pagination(Pager{Page: 1, Pages: 2, Count: 40, URL: url}))
		if doc.Find(`[data-testid="page-prev"]`).Length() != 0 {
			t.Error("link back on page 1")
		}
		if doc.Find(`[data-testid="page-next"]`).Length() != 1 {
			t.Error("no link forward")
		}
	})

	t.Run("a single page shows only the count", func(t *testing.T) {
		doc := render(t, Pagination(Pager{Page: 1, Pages: 1, Count: 7, URL: url}))
		if doc.Find("nav").Length() != 0 || one(t, doc, `[data-testid="found"]`).Text() != "Найдено: 7" {
			t.Error("single page rendered a page nav or a wrong count")
		}
	})
}

func TestSortHeader(t *testing.T) {
	url := func(key string) string { return "?sort=" + key }
	cases := []struct {
		name, current, wantSort, wantHref string
	}{
		{"an unsorted column sorts ascending first", "inn", "", "?sort=name"},
		{"an ascending column switches to descending", "name", "ascending", "?sort=-name"},
		{"a descending column switches back to ascending", "-name", "descending", "?sort=name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := render(t, templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
				_, _ = io.WriteString(w, "<table><thead><tr>")
				if err := SortHeader("Название", "name", c.current, url).Render(ctx, w); err != nil {
					return err
				}
				_, _ = io.WriteString(w, "</tr></thead></table>")
				return nil
			}))
			th := one(t, doc, "th")
			if got, _ := th.Attr("aria-sort"); got != c.wantSort {
				t.Errorf("aria-sort = %q, want %q", got, c.wantSort)
			}
			if got := attr(th.Find("a.sort"), "href"); got != c.wantHref {
				t.Errorf("href = %q, want %q", got, c.wantHref)
			}
		})
	}
}

func TestMultiselect(t *testing.T) {
	doc := render(t, Multiselect("spheres", "Сферы деятельности", []Option{
		{Value: "1", Label: "Строительство", Selected: true},
		{Value: "2", Label: "Ёлки и сосны"},
		{Value: "3", Label: "Медицина", Selected: true},
	}, "Выберите хотя бы одну сферу"))
	wrap := one(t, doc, `fieldset[data-testid="field-spheres"]`)
	if wrap.Find("legend").Text() != "Сферы деятельности" {
		t.Error("no legend")
	}
	if _, ok := wrap.Find(".multiselect").Attr("data-multiselect"); !ok {
		t.Error("no data-multiselect hook")
	}
	boxes := wrap.Find(`.multiselect-list label input[type="checkbox"][name="spheres"]`)
	if boxes.Length() != 3 || doc.Find("input:checked").Length() != 2 {
		t.Errorf("%d boxes, %d checked", boxes.Length(), doc.Find("input:checked").Length())
	}
	if got := wrap.Find(".multiselect-summary").Text(); got != "Выбрано: 2" {
		t.Errorf("summary = %q", got)
	}
	if _, ok := wrap.Find(".multiselect-search").Attr("hidden"); !ok {
		t.Error("the filter box shows without the script")
	}
	errEl := one(t, doc, `[data-testid="error-spheres"]`)
	if attr(wrap, "aria-describedby") != attr(errEl, "id") {
		t.Error("the error is not tied to the group")
	}
}

func TestDeleteForm(t *testing.T) {
	doc := render(t, DeleteForm("/companies/7/delete", "Удалить компанию «Ромашка»?", "Удалить"))
	form := one(t, doc, "form")
	if attr(form, "method") != "post" || attr(form, "action") != "/companies/7/delete" || attr(form, "data-confirm") != "Удалить компанию «Ромашка»?" {
		t.Errorf("form attributes wrong: %v", form.Nodes[0].Attr)
	}
	// Outlined in red: a solid red block would shout louder than the
	// page's main action.
	if b := form.Find("button"); !b.HasClass("btn-danger-outline") || b.HasClass("btn-danger") {
		t.Errorf("delete button class %q, want the red outline", attr(b, "class"))
	}
}

func TestSmallComponents(t *testing.T) {
	doc := render(t, Badge("success", "Клиент"))
	if b := one(t, doc, "span.badge"); !b.HasClass("badge-success") || b.Text() != "Клиент" {
		t.Error("badge wrong")
	}
	if b := render(t, Badge("bogus", "x")).Find("span.badge"); !b.HasClass("badge-neutral") {
		t.Error("unknown badge kind is not neutral")
	}
	icon := one(t, render(t, Icon("i-phone")), "svg.icon")
	if attr(icon, "aria-hidden") != "true" || attr(icon.Find("use"), "href") != static.Path("icons.svg")+"#i-phone" {
		t.Errorf("icon wrong: %v", icon.Find("use").Nodes[0].Attr)
	}
	empty := render(t, Empty("Задач на сегодня нет.", "Создать задачу", "/tasks/new"))
	if a := one(t, empty, `[data-testid="empty-action"]`); attr(a, "href") != "/tasks/new" || a.Text() != "Создать задачу →" {
		t.Errorf("empty action: %q %q", attr(a, "href"), a.Text())
	}
	ph := render(t, PageHeader("Компании"), templ.Raw(`<a class="btn btn-accent" href="/companies/new">Добавить</a>`))
	if one(t, ph, "h1").Text() != "Компании" || ph.Find(".page-actions a.btn-accent").Length() != 1 {
		t.Error("page header wrong")
	}
}

func TestFormatInt(t *testing.T) {
	for n, want := range map[int]string{
		0: "0", 7: "7", 999: "999", 1000: "1 000", 1234: "1 234", 12345: "12 345",
		123456: "123 456", 1234567: "1 234 567", -1234567: "-1 234 567", -12: "-12",
	} {
		want = strings.ReplaceAll(want, " ", "\u202f")
		if got := FormatInt(n); got != want {
			t.Errorf("FormatInt(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestAuditSpeaksRussian(t *testing.T) {
	if got := ActionLabel("auth.login"); got != "Вход в систему" {
		t.Errorf("auth.login is %q", got)
	}
	tests := []struct {
		name   string
		detail map[string]any
		want   string
	}{
		{"a login names the field", map[string]any{"username": "admin"}, "Логин: admin"},
		{"a refusal says why in Russian", map[string]any{"username": "x", "reason": "bad credentials"}, "Логин: x · Причина: неверный логин или пароль"},
		{"codes become labels", map[string]any{"role": "manager", "data_scope": "self"}, "Роль: Менеджер · Видит: Только свои компании"},
		{"changed fields are listed by name", map[string]any{"changed": []any{"first_name", "role"}, "self": true}, "Изменено: имя, роль · Сам: да"},
		{"the request joins method and path", map[string]any{"method": "GET", "path": "/admin/", "reason": "нет прав"}, "Причина: нет прав · Запрос: GET /admin/"},
		{"a company id reads as a reference", map[string]any{"company": float64(12), "note_type": "call_out"}, "Компания: #12 · Тип: Исходящий звонок"},
		{"unknown keys come last by code", map[string]any{"zeta": "1", "name": "Ромашка"}, "Название: Ромашка · zeta: 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := auditDetailText(tt.detail); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFiltersLabel(t *testing.T) {
	if got := filtersLabel(countSet("", " ", "7")); got != "Фильтры (1)" {
		t.Errorf("one filter: %q", got)
	}
	if got := filtersLabel(0); got != "Фильтры" {
		t.Errorf("none: %q", got)
	}
}

func TestBadgeMarkup(t *testing.T) {
	for _, tc := range []struct{ kind, text, want string }{
		{"brand", "Клиент", `<span class="badge badge-brand">Клиент</span>`},
		{"danger", "Просрочена", `<span class="badge badge-danger">Просрочена</span>`},
		{"no such kind", "Прочее", `<span class="badge badge-neutral">Прочее</span>`},
		{"", "", `<span class="badge badge-neutral"></span>`},
		{"info", `ООО «Ромашка» & <Ко> "1" 'a'`, `<span class="badge badge-info">ООО «Ромашка» &amp; &lt;Ко&gt; &#34;1&#34; &#39;a&#39;</span>`},
	} {
		t.Run(tc.kind+" "+tc.text, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Badge(tc.kind, tc.text).Render(context.Background(), &buf); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("got  %s\nwant %s", buf.String(), tc.want)
			}
		})
	}
}

func BenchmarkBadge(b *testing.B) {
	b.ReportAllocs()
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Badge("brand", "Клиент").Render(context.Background(), &buf); err != nil {
			b.Fatal(err)
		}
	}
}
