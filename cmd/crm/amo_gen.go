package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/crmprofi/crm/internal/amoimport/amogen"
)

// cmdAmoGenerate writes a realistic amoCRM export of any size (CSV or
// .xlsx) for tests, demonstrations and the import benchmark, and prints
// what it planted; --summary saves that as JSON for comparison with an
// import's totals.
func cmdAmoGenerate(_ context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("amo-generate", flag.ContinueOnError)
	russianUsage(env, fs)
	rows := fs.Int("rows", 100_000, "сколько строк после заголовка")
	out := fs.String("out", "", "файл выгрузки (обязательно)")
	seed := fs.Uint64("seed", 1, "зерно: одно зерно — один и тот же файл")
	layout := fs.String("layout", "modern", "заголовки: modern («Наименование», «Компания») или classic («Полное имя контакта», «Название компании»)")
	encoding := fs.String("encoding", "utf8bom", "кодировка: utf8, utf8bom, cp1251 (пересохранён в Excel) или utf16")
	delimiter := fs.String("delimiter", "", "разделитель: ';', ',' или tab (по умолчанию ';', для utf16 — tab)")
	xlsx := fs.Bool("xlsx", false, "записать .xlsx вместо CSV")
	summary := fs.String("summary", "", "записать сводку посаженного (JSON) в этот файл")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out: укажите файл выгрузки")
	}
	opt := amogen.Options{Rows: *rows, Seed: *seed, Layout: amogen.Layout(*layout), Encoding: amogen.Encoding(*encoding)}
	switch *delimiter {
	case "":
	case ";", ",":
		opt.Delimiter = rune((*delimiter)[0])
	case "tab", `\t`, "\t":
		opt.Delimiter = '\t'
	default:
		return fmt.Errorf("--delimiter: укажите ';', ',' или tab, а не %q", *delimiter)
	}
	f, err := os.Create(filepath.Clean(*out))
	if err != nil {
		return err
	}
	start := time.Now()
	var sum amogen.Summary
	if *xlsx {
		sum, err = amogen.WriteXLSX(f, opt)
	} else {
		sum, err = amogen.Write(f, opt)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(*out)
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(env.stdout, "Записано %s: %d строк, %.1f МБ за %s (%.0f строк/с).\n", *out, sum.Records,
		float64(sum.Bytes)/(1<<20), el.Round(time.Millisecond), float64(sum.Records)/el.Seconds())
	fmt.Fprintf(env.stdout, "Идеальный импорт: %d компаний (из них %d по ссылкам контактов), %d контактов; "+
		"дублей компаний %d, контактов %d; пропущенных строк %d.\n",
		sum.Companies, sum.OrphanCompanyNames, sum.Contacts, sum.DuplicateCompanyRecords, sum.DuplicateContactRecords, sum.InvalidRecords)
	if *summary == "" {
		return nil
	}
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Clean(*summary), append(b, '\n'), 0o600)
}
