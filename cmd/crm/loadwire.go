package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// wire is one load-test client's own keep-alive HTTP/1.1 connection to
// the server under test. The generator shares the processor with that
// server, and net/http's client spent about 0.13 ms of it a request (two
// goroutines a connection handing each request and answer over channels,
// a Request and a Response with their header maps): a tenth of what the
// server itself spent. A wire writes the request line and the few headers
// by hand and reads the answer in place: the status, the length or the
// chunks, and the body — dropped, or kept when the caller wants it.
type wire struct {
	addr, host string
	conn       net.Conn
	r          *bufio.Reader
	req        []byte
}

func newWire(addr, host string) *wire { return &wire{addr: addr, host: host} }

// answer is what a round trip read: the status, the body when kept, and
// its Content-Encoding (for error messages).
type answer struct {
	status   int
	body     []byte
	encoding string
}

// roundTrip sends one request with the session cookie and reads its
// answer. With keep the body is returned (asked uncompressed); without it
// the body is asked gzipped, as a browser asks, and dropped unread. A
// failed exchange closes the connection; the next one dials again.
func (w *wire) roundTrip(ctx context.Context, method, path, cookie string, body []byte, keep bool) (a answer, err error) {
	if w.conn == nil {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", w.addr)
		if err != nil {
			return a, err
		}
		w.conn, w.r = c, bufio.NewReaderSize(c, 32<<10)
	}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	// Ctrl+C cuts an exchange off mid-way; a server that stops answering
	// does so after a minute, as net/http's client did.
	stop := context.AfterFunc(ctx, func() { _ = w.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := w.conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		return a, err
	}

	b := w.req[:0]
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, w.host...)
	b = append(b, "\r\nUser-Agent: crm-loadtest\r\n"...)
	if cookie != "" {
		b = append(b, "Cookie: "...)
		b = append(b, cookie...)
		b = append(b, "\r\n"...)
	}
	if keep {
		b = append(b, "Accept: application/json\r\n"...)
	} else {
		b = append(b, "Accept-Encoding: gzip\r\n"...)
	}
	if body != nil {
		b = append(b, "Content-Type: application/json\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	w.req = b
	if _, err := w.conn.Write(b); err != nil {
		return a, err
	}
	return w.read(method, keep)
}

// read reads one answer from the connection.
func (w *wire) read(method string, keep bool) (a answer, err error) {
	line, err := w.line()
	if err != nil {
		return a, err
	}
	proto, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	if !strings.HasPrefix(proto, "HTTP/1.") || len(code) != 3 {
		return a, fmt.Errorf("malformed status line %q", line)
	}
	if a.status, err = strconv.Atoi(code); err != nil {
		return a, fmt.Errorf("malformed status line %q", line)
	}
	length, chunked, closing := int64(-1), false, proto == "HTTP/1.0"
	for {
		h, err := w.line()
		if err != nil {
			return a, err
		}
		if h == "" {
			break
		}
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return a, fmt.Errorf("malformed header %q", h)
		}
		value = strings.TrimSpace(value)
		switch {
		case strings.EqualFold(name, "Content-Length"):
			if length, err = strconv.ParseInt(value, 10, 64); err != nil || length < 0 {
				return a, fmt.Errorf("malformed Content-Length %q", value)
			}
		case strings.EqualFold(name, "Transfer-Encoding"):
			chunked = strings.EqualFold(value, "chunked")
		case strings.EqualFold(name, "Connection"):
			closing = closing || strings.EqualFold(value, "close")
		case strings.EqualFold(name, "Content-Encoding"):
			a.encoding = value
		}
	}
	keep = keep || a.status/100 != 2 // an error's text is worth showing
	var out *bytes.Buffer
	if keep {
		out = &bytes.Buffer{}
	}
	switch {
	case method == "HEAD" || a.status == 204 || a.status == 304 || a.status/100 == 1:
	case chunked:
		err = w.chunks(out)
	case length >= 0:
		err = w.take(length, out)
	default: // the body runs to the end of the connection
		closing = true
		if out != nil {
			_, err = io.Copy(out, w.r)
		} else {
			_, err = io.Copy(io.Discard, w.r)
		}
	}
	if err != nil {
		return a, err
	}
	if out != nil {
		a.body = out.Bytes()
	}
	if closing {
		w.close()
	}
	return a, nil
}

// chunks reads a chunked body (RFC 9112 §7.1), trailers included.
func (w *wire) chunks(out *bytes.Buffer) error {
	for {
		line, err := w.line()
		if err != nil {
			return err
		}
		size, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("malformed chunk size %q", line)
		}
		if n == 0 {
			for { // trailers, up to the empty line
				t, err := w.line()
				if err != nil || t == "" {
					return err
				}
			}
		}
		if err := w.take(n, out); err != nil {
			return err
		}
		if crlf, err := w.line(); err != nil || crlf != "" {
			return errors.Join(err, errors.New("chunk not followed by CRLF"))
		}
	}
}

// take reads n bytes of body into out, or drops them when out is nil.
func (w *wire) take(n int64, out *bytes.Buffer) error {
	if out == nil {
		for n > 0 {
			step := int(min(n, 1<<30))
			if _, err := w.r.Discard(step); err != nil {
				return err
			}
			n -= int64(step)
		}
		return nil
	}
	_, err := io.CopyN(out, w.r, n)
	return err
}

// line reads one CRLF-terminated line of the head, without the CRLF.
func (w *wire) line() (string, error) {
	s, err := w.r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return "", errors.New("header line too long")
		}
		return "", err
	}
	return strings.TrimRight(string(s), "\r\n"), nil
}

func (w *wire) close() {
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn, w.r = nil, nil
	}
}
