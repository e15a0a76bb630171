package main

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/crmprofi/crm/internal/phone"
)

// TestBrowserCallFromPhone is «Позвонить с телефона» as a manager meets
// it, at 1366 and 390 px wide, with the real binary and the real phone
// simulator: «Мой телефон» shows the QR code and its countdown, the
// simulator pairs from the QR code's link, the page shows its code live
// and the manager confirms it; the company card's call button sends the
// number, the toast follows the phone's acknowledgements to «Набор
// номера», the card's history records it; then «Отвязать». axe-core
// checks each page; screenshots are kept.
func TestBrowserCallFromPhone(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			inst, _, co := startPhoneCRM(t, newURL(), map[string]string{"value": "+7 495 123-45-67", "comment": "секретарь"},
				map[string]string{"value": "+7 495 123-45-68"})
			card := inst.URL + "/companies/" + strconv.FormatInt(co, 10) + "/"
			connected := `window.crmLive && window.crmLive.connected()`

			for _, width := range []int{1366, 390} {
				t.Run(strconv.Itoa(width), func(t *testing.T) {
					w := strconv.Itoa(width)
					ctx := browser(t, width, 900)
					var link string
					err := chromedp.Do(ctx,
						signIn(t, inst.URL, "anna", "Ромашка-2026!"),
						chromedp.Navigate(card),
						chromedp.WaitVisible(sel("company-phones")),
						evalTrue(t, "no call button without a phone", `document.querySelectorAll('[data-testid="call-button"]').length === 0`),
						chromedp.Navigate(inst.URL+"/phone/"),
						chromedp.WaitVisible(sel("phone-pair")),
						checkA11y(t, "«Мой телефон» "+w),
						shot(t, "phone-none-"+w),
						chromedp.Click(sel("phone-pair")),
						chromedp.WaitVisible(sel("phone-qr")),
						waitJS(t, "the QR code is drawn", `document.querySelector('[data-testid="phone-qr"]').naturalWidth > 0`),
						waitText(t, sel("phone-countdown"), "Код действует ещё 4:"),
						waitJS(t, "the page's stream is open", connected),
						checkA11y(t, "QR code "+w),
						shot(t, "phone-qr-"+w),
						chromedp.Func(func(ctx context.Context, target *chromedp.Target) (err error) {
							link, err = chromedp.Evaluate[string](`document.querySelector('[data-testid="phone-link"]').value`)(ctx, target)
							return err
						}),
					)
					if err != nil {
						t.Fatalf("pairing page: %v\n%s", err, inst.log.String())
					}
					sim := startPhoneSim(t, inst, "--pair-url", link, "--count", "1", "--wait", "2s", "--name", "Рабочий")
					paired := sim.expect(t, "paired ")
					code := paired[strings.Index(paired, "confirm_code=")+len("confirm_code="):]
					err = chromedp.Do(ctx,
						waitText(t, sel("phone-claim"), "просит подключения"),
						waitText(t, sel("phone-code"), code),
						checkA11y(t, "confirm "+w),
						shot(t, "phone-confirm-"+w),
						chromedp.Click(sel("phone-confirm")),
						chromedp.WaitVisible(sel("phone-device")),
						waitText(t, sel("toasts"), "Телефон привязан"),
						shot(t, "phone-paired-"+w),
					)
					if err != nil {
						t.Fatalf("confirm: %v\n%s", err, inst.log.String())
					}
					sim.expect(t, "active")

					err = chromedp.Do(ctx,
						chromedp.Navigate(card),
						waitJS(t, "the call buttons are shown", `document.querySelectorAll('[data-testid="call-button"]:not([hidden])').length === 2`),
						waitJS(t, "the card's stream is open", connected),
						checkA11y(t, "card with call buttons "+w),
						shot(t, "card-call-buttons-"+w),
						chromedp.Click(chromedp.CSS(`[data-testid="call-button"][aria-label="Позвонить с телефона: +7 (495) 123-45-67"]`)),
						chromedp.WaitVisible(sel("call-toast")),
						waitText(t, sel("call-toast"), "Звонок с телефона: +7 (495) 123-45-67"),
						waitJS(t, "the toast reaches «Набор номера»", `document.querySelector('[data-testid="call-toast"]').dataset.status === "dialed"`),
						waitText(t, sel("call-status"), "Набор номера"),
						evalTrue(t, "every step is done", `document.querySelectorAll('[data-testid="call-toast"] .call-steps li.is-done').length === 4`),
						evalTrue(t, "«Отменить» is gone once the call is dialed", `document.querySelector('[data-testid="call-cancel"]').hidden`),
						checkA11y(t, "call toast "+w),
						shot(t, "call-toast-"+w),
						chromedp.Navigate(card),
						waitText(t, sel("call-history"), "Запрос звонка с телефона: +7 (495) 123-45-67"),
						waitText(t, sel("call-history"), "Набран"),
						shot(t, "card-history-"+w),
					)
					if err != nil {
						t.Fatalf("call: %v\n%s\n%s", err, inst.log.String(), sim.out.String())
					}
					if err := sim.wait(t); err != nil {
						t.Fatalf("phone-sim: %v\n%s", err, sim.out.String())
					}

					err = chromedp.Do(ctx,
						chromedp.Navigate(inst.URL+"/phone/"),
						chromedp.WaitVisible(sel("phone-unpair")),
						chromedp.Click(sel("phone-unpair")),
						chromedp.WaitVisible(sel("confirm-dialog")),
						chromedp.Click(sel("confirm-ok")),
						chromedp.WaitVisible(sel("phone-none")),
						waitText(t, sel("toasts"), "Телефон отвязан"),
						chromedp.Navigate(card),
						chromedp.WaitVisible(sel("company-phones")),
						evalTrue(t, "no call button after «Отвязать»", `document.querySelectorAll('[data-testid="call-button"]').length === 0`),
						evalTrue(t, "the number is still a tel: link", `!!document.querySelector('[data-testid="company-phones"] a[href="tel:+74951234567"]')`),
					)
					if err != nil {
						t.Fatalf("unpair: %v\n%s", err, inst.log.String())
					}
				})
			}
		})
	}
}

// TestBrowserCallToASilentPhone is the call whose phone never answers (the
// app closed, no network): after 15 s without «Доставлено» the toast says
// what to check, and «Отменить» withdraws the request. The phone is paired
// through the API and then stays silent. One width: the wait is real.
func TestBrowserCallToASilentPhone(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			inst, access, co := startPhoneCRM(t, newURL(), map[string]string{"value": "+7 495 123-45-67"})
			var pairing struct {
				ID        int64  `json:"id"`
				QRPayload string `json:"qr_payload"`
			}
			apiPost(t, inst, access, "/api/phone/pairings/", map[string]any{}, &pairing)
			id, secret, ok := phone.ParseLink(pairing.QRPayload)
			if !ok {
				t.Fatalf("qr_payload %q", pairing.QRPayload)
			}
			var claimed struct {
				ConfirmCode string `json:"confirm_code"`
			}
			apiPost(t, inst, "", "/api/phone/v1/pair", map[string]any{"v": 1, "pairing_id": id, "secret": secret,
				"device": map[string]string{"name": "Молчун", "model": "Pixel 7", "os": "Android 14", "app_version": "1.0", "install_id": "silent-1"},
				"push":   map[string]string{"provider": "none"}}, &claimed)
			var confirmed struct{ Status string }
			apiPost(t, inst, access, "/api/phone/pairings/"+strconv.FormatInt(pairing.ID, 10)+"/confirm/",
				map[string]string{"confirm_code": claimed.ConfirmCode}, &confirmed)
			if confirmed.Status != "active" {
				t.Fatalf("pairing %q after confirm", confirmed.Status)
			}

			ctx := browser(t, 1366, 900)
			var reqID string
			err := chromedp.Do(ctx,
				signIn(t, inst.URL, "anna", "Ромашка-2026!"),
				chromedp.Navigate(inst.URL+"/companies/"+strconv.FormatInt(co, 10)+"/"),
				waitJS(t, "the call button is shown", `document.querySelectorAll('[data-testid="call-button"]:not([hidden])').length === 1`),
				waitJS(t, "the card's stream is open", `window.crmLive && window.crmLive.connected()`),
				chromedp.Click(sel("call-button")),
				waitText(t, sel("call-status"), "Отправляется"),
				evalTrue(t, "no hint at once", `document.querySelector('[data-testid="call-hint"]').hidden`),
				chromedp.WaitVisible(sel("call-hint")),
				waitText(t, sel("call-hint"), "Телефон не отвечает"),
				checkA11y(t, "toast with the hint"),
				shot(t, "call-toast-silent-1366"),
				chromedp.Click(sel("call-cancel")),
				waitJS(t, "the toast shows the request withdrawn", `document.querySelector('[data-testid="call-toast"]').dataset.status === "withdrawn"`),
				waitText(t, sel("call-status"), "Отменено"),
				chromedp.Func(func(ctx context.Context, target *chromedp.Target) (err error) {
					reqID, err = chromedp.Evaluate[string](`document.querySelector('[data-testid="call-toast"]').dataset.callRequest`)(ctx, target)
					return err
				}),
			)
			if err != nil {
				t.Fatalf("silent phone: %v\n%s", err, inst.log.String())
			}
			var req struct {
				Status string `json:"status"`
			}
			apiGet(t, inst, access, "/api/call-requests/"+reqID+"/", &req)
			if req.Status != "withdrawn" {
				t.Errorf("request status %q, want withdrawn", req.Status)
			}
		})
	}
}

// startPhoneCRM starts the binary with Анна Смирнова («anna») and her
// company «Ромашка» with phones, and returns her API token and the
// company's id.
func startPhoneCRM(t *testing.T, dbURL string, phones ...map[string]string) (inst *instance, access string, company int64) {
	t.Helper()
	inst = startCRM(t, dbURL)
	inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
		"--first-name", "Анна", "--last-name", "Смирнова")
	var anna struct{ Access string }
	apiPost(t, inst, "", "/api/token/", map[string]string{"username": "anna", "password": "Ромашка-2026!"}, &anna)
	var co struct{ ID int64 }
	apiPost(t, inst, anna.Access, "/api/companies/", map[string]any{"name": "Ромашка", "phones": phones}, &co)
	return inst, anna.Access, co.ID
}
