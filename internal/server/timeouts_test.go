package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestAStalledRequestBodyIsCutOffAtTheBodyTimeout(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		e.srv.bodyTimeout = 200 * time.Millisecond
		ts := httptest.NewServer(e.srv)
		defer ts.Close()
		for _, tc := range []struct{ name, path, contentType string }{
			{"a JSON body", "/api/companies/", "application/json"},
			{"a form body", "/companies/", "application/x-www-form-urlencoded"},
		} {
			t.Run(tc.name+" that never arrives gets 408 and a closed connection", func(t *testing.T) {
				conn, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", ts.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = conn.Close() }()
				// Far longer than the body timeout, far shorter than the
				// server's ReadTimeout: only the body bound can answer in time.
				if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
					t.Fatal(err)
				}
				head := "POST " + tc.path + " HTTP/1.1\r\nHost: crm.test\r\nContent-Type: " + tc.contentType +
					"\r\nContent-Length: 100\r\nCookie: " + sessionCookie + "=" + e.session(e.cast.Admin) + "\r\n\r\n{\"name\":"
				if _, err := conn.Write([]byte(head)); err != nil {
					t.Fatal(err)
				}
				br := bufio.NewReader(conn)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("no answer before the client gave up: %v", err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusRequestTimeout {
					t.Fatalf("status %d, want 408", resp.StatusCode)
				}
				if _, err := br.ReadByte(); err == nil {
					t.Fatal("the connection stayed open after the stalled body")
				}
			})
		}
	})
}
