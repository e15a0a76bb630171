package main

import (
	"fmt"
	"os"
	"strings"
	"time"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

func main() {
	tls := libc.NewTLS()
	name, _ := libc.CString(os.Args[1])
	pp := libc.Xmalloc(tls, 8)
	rc := sqlite3.Xsqlite3_open_v2(tls, name, pp, sqlite3.SQLITE_OPEN_READONLY|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	if rc != 0 {
		panic(rc)
	}
	db := *(*uintptr)(unsafe.Pointer(pp))
	cols := strings.Split(os.Args[3], ",")
	q, _ := libc.CString("SELECT " + strings.Join(cols, ", ") + " FROM " + os.Args[2])
	ps := libc.Xmalloc(tls, 8)
	if rc := sqlite3.Xsqlite3_prepare_v2(tls, db, q, -1, ps, 0); rc != 0 {
		panic(libc.GoString(sqlite3.Xsqlite3_errmsg(tls, db)))
	}
	stmt := *(*uintptr)(unsafe.Pointer(ps))
	start := time.Now()
	n, total := 0, 0
	buf := make([]byte, 0, 4096)
	for {
		rc := sqlite3.Xsqlite3_step(tls, stmt)
		if rc == sqlite3.SQLITE_DONE {
			break
		}
		if rc != sqlite3.SQLITE_ROW {
			panic(rc)
		}
		buf = buf[:0]
		for i := range cols {
			p := sqlite3.Xsqlite3_column_text(tls, stmt, int32(i))
			l := sqlite3.Xsqlite3_column_bytes(tls, stmt, int32(i))
			if p != 0 && l > 0 {
				buf = append(buf, unsafe.Slice((*byte)(unsafe.Pointer(p)), l)...)
			}
		}
		row := string(buf)
		total += len(row)
		n++
	}
	fmt.Println("raw", n, time.Since(start), total)
}
