package amoimport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"testing"
)

// benchHeader is the documented layout with custom fields, as a real
// export has it.
const benchHeader = "ID;Тип;Наименование;Компания;Имя;Фамилия;Ответственный;Дата создания;Создатель;Дата изменения;Автор изменения;Теги;Ближайшая задача;Сделки;Должность;Рабочий телефон;Рабочий прямой телефон;Мобильный телефон;Факс;Домашний телефон;Другой телефон;Рабочий email;Личный email;Другой email;Адрес;Web;Примечание 1;Примечание 2;Примечание 3;Примечание 4;Примечание 5;ИНН;КПП;ОГРН;Сфера деятельности;Город;Источник"

// benchRow writes the i-th row of a generated export: every third a
// company with requisites, the others contacts, with the dirt of a real
// export (two phones in a cell, an extension, a multi-line note).
func benchRow(w io.Writer, i int) {
	if i%3 == 0 {
		fmt.Fprintf(w, "%d;компания;ООО «Ромашка %d»;;;;Иванов Иван;15.03.2022 11:01:13;Пётр Сидоров;15.03.2022 11:01;;VIP, Дилер;;;;"+
			"+7 (495) 123-%02d-%02d, доб. 12;;;;;;info%d@romashka.ru;;;г. Москва, ул. Ленина, д. %d;romashka.ru;"+
			"\"Звонок: ЛПР — директор.\r\nОтправил КП.\";;;;;7707083893;773601001;1027700132195;Химия, Металлургия;Москва;Сайт\r\n",
			17000000+i, i, i%100, i/100%100, i, i%200)
		return
	}
	fmt.Fprintf(w, "%d;контакт;Сидоров Пётр Петрович;ООО «Ромашка %d»;Пётр;Сидоров;Иванов Иван;15.03.2022 11:01:13;;15.03.2022 11:01;;;;;Директор;"+
		"8 (495) 123-45-67 доб. 3956;;+7 916 %03d-%02d-%02d;;;;p.sidorov%d@romashka.ru;petr@mail.ru;;;;;;;;;;;;;;\r\n",
		17000000+i, i-i%3, i%1000, i%100, i/100%100, i)
}

// benchExport builds an export of n rows in memory.
func benchExport(n int) []byte {
	var b bytes.Buffer
	b.WriteString("\ufeff" + benchHeader + "\r\n")
	for i := range n {
		benchRow(&b, i)
	}
	return b.Bytes()
}

func readAll(tb testing.TB, r io.ReaderAt, size int64, each func()) int {
	tb.Helper()
	p, err := Parse(r, size)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for {
		row, err := p.Next()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			tb.Fatal(err)
		}
		if row.Record == nil {
			tb.Fatalf("row %d skipped: %+v", n+1, row.Skip)
		}
		n++
		if each != nil && n%10000 == 0 {
			each()
		}
	}
}

// BenchmarkParse reads a generated 20,000-row export; rows/s is the
// figure to compare with the import's target.
func BenchmarkParse(b *testing.B) {
	const rows = 20000
	data := benchExport(rows)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if n := readAll(b, bytes.NewReader(data), int64(len(data)), nil); n != rows {
			b.Fatalf("read %d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// generated is an export of n rows that exists only as it is read: a
// ReaderAt computing each byte from the row template, so that a test can
// read a million rows without holding them.
type generated struct {
	head, row []byte
	n         int64
}

func newGenerated(n int) *generated {
	var b bytes.Buffer
	benchRow(&b, 1)
	return &generated{head: []byte(benchHeader + "\r\n"), row: b.Bytes(), n: int64(n)}
}

func (g *generated) size() int64 { return int64(len(g.head)) + g.n*int64(len(g.row)) }

func (g *generated) ReadAt(p []byte, off int64) (int, error) {
	size := g.size()
	if off >= size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off < size {
		var src []byte
		if off < int64(len(g.head)) {
			src = g.head[off:]
		} else {
			src = g.row[(off-int64(len(g.head)))%int64(len(g.row)):]
		}
		c := copy(p[n:], src)
		n += c
		off += int64(c)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestParseMemoryIsFlat reads 10,000 and 1,000,000 rows (100,000 under the
// race detector) and compares the heap they need: reading streams, so the
// larger file may not need more.
func TestParseMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a million rows")
	}
	peak := func(rows int) uint64 {
		runtime.GC()
		var m runtime.MemStats
		most := uint64(0)
		g := newGenerated(rows)
		n := readAll(t, g, g.size(), func() {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > most {
				most = m.HeapInuse
			}
		})
		if n != rows {
			t.Fatalf("read %d rows, want %d", n, rows)
		}
		return most
	}
	rows := 1000000
	if raceEnabled {
		rows = 100000
	}
	// A tight GC target keeps garbage not yet collected out of the figure
	// (under a loaded machine it added megabytes at random); what stays is
	// what reading holds. Rows kept would be ~990,000 × their size: even
	// 8 bytes a row exceeds the slack.
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	small, large := peak(10000), peak(rows)
	t.Logf("peak heap in use: %d KiB for 10,000 rows, %d KiB for %d rows", small>>10, large>>10, rows)
	if large > small+8<<20 {
		t.Errorf("%d rows took %d KiB of heap, 10,000 took %d KiB", rows, large>>10, small>>10)
	}
}
