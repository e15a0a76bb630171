package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// TestWireReadsEveryShapeOfAnswer: the load test's own HTTP/1.1 client
// reads answers with a length, chunked ones (with trailers), ones that end
// with the connection, and ones without a body, keeps the body only when
// asked, sends the cookie and the JSON body, and goes on over the same
// connection (or a new one after the server closed it).
func TestWireReadsEveryShapeOfAnswer(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/length":
			w.Header().Set("Content-Length", "5")
			_, _ = io.WriteString(w, "hello")
		case "/chunked":
			w.Header().Set("Trailer", "X-Sum")
			_, _ = io.WriteString(w, strings.Repeat("a", 40000))
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "b")
			w.Header().Set("X-Sum", "1")
		case "/echo":
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			// A test server echoing its own client's request.
			_, _ = io.WriteString(w, `{"cookie":"`+r.Header.Get("Cookie")+`","body":`+string(body)+`,"gzip":"`+r.Header.Get("Accept-Encoding")+`"}`) //nolint:gosec // echoes the test's own request
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		case "/none":
			w.WriteHeader(http.StatusNoContent)
		default:
			http.Error(w, "нет такой страницы", http.StatusNotFound)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	w := newWire(u.Host, u.Host)
	defer w.close()
	ctx := context.Background()

	cases := []struct {
		path string
		keep bool
		want string
		code int
	}{
		{"/length", true, "hello", 200},
		{"/chunked", true, strings.Repeat("a", 40000) + "b", 200},
		{"/chunked", false, "", 200},
		{"/none", false, "", 204},
		{"/length", false, "", 200},
		{"/missing", false, "нет такой страницы\n", 404},
		{"/close", true, "bye", 200},
		{"/length", true, "hello", 200},
	}
	for _, c := range cases {
		a, err := w.roundTrip(ctx, http.MethodGet, c.path, "", nil, c.keep)
		if err != nil {
			t.Fatalf("GET %s: %v", c.path, err)
		}
		if a.status != c.code || string(a.body) != c.want {
			t.Errorf("GET %s: %d %q, want %d %q", c.path, a.status, a.body, c.code, c.want)
		}
	}
	a, err := w.roundTrip(ctx, http.MethodPatch, "/echo", "sessionid=abc", []byte(`{"version":3}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"cookie":"sessionid=abc","body":{"version":3},"gzip":""}`; string(a.body) != want {
		t.Errorf("PATCH /echo: %s, want %s", a.body, want)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections for 9 requests, want 2 (one closed by the server)", n)
	}
}
