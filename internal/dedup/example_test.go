package dedup_test

import (
	"fmt"

	"github.com/crmprofi/crm/internal/dedup"
)

func ExampleNormalizeName() {
	fmt.Println(dedup.NormalizeName("ООО «Ромашка»"))
	fmt.Println(dedup.NormalizeName(`ЗАО "Ёлка-Плюс"`))
	// Output:
	// ромашка
	// елка плюс
}

func ExampleNormalizeAddress() {
	fmt.Println(dedup.NormalizeAddress("123456, г.Москва, ул.Ленина, д.5, оф.3"))
	fmt.Println(dedup.NormalizeAddress("г. Москва, улица Ленина, дом 5, офис 3"))
	// Output:
	// г москва ул ленина д 5 оф 3
	// г москва ул ленина д 5 оф 3
}

func ExampleNormalizePhone() {
	p, ok := dedup.NormalizePhone("8 (495) 123-45-67 доб. 123")
	fmt.Println(p.E164, p.Ext, ok)
	fmt.Println(dedup.FormatPhone(p))
	// Output:
	// +74951234567 123 true
	// +7 (495) 123-45-67 доб. 123
}

func ExampleValidateINN() {
	fmt.Printf("%q\n", dedup.ValidateINN(dedup.CleanDigits("77 07 083893")))
	fmt.Printf("%q\n", dedup.ValidateINN("7707083894"))
	// Output:
	// ""
	// "Неверная контрольная сумма ИНН"
}
