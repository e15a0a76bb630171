package task

import "testing"

func TestDescribe(t *testing.T) {
	tests := []struct {
		name, rule, want string
	}{
		{"no rule says nothing", "", ""},
		{"every day", "FREQ=DAILY", "ежедневно"},
		{"every three days", "FREQ=DAILY;INTERVAL=3", "каждые 3 дня"},
		{"every five days", "FREQ=DAILY;INTERVAL=5", "каждые 5 дней"},
		{"every 21 days takes the singular", "FREQ=DAILY;INTERVAL=21", "каждый 21 день"},
		{"every 11 days takes the plural", "FREQ=DAILY;INTERVAL=11", "каждые 11 дней"},
		{"every day until a date", "FREQ=DAILY;UNTIL=20261231", "ежедневно до 31.12.2026"},
		{"workdays", "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", "по будним дням"},
		{"every week", "FREQ=WEEKLY", "еженедельно"},
		{"every Tuesday is masculine", "FREQ=WEEKLY;BYDAY=TU", "каждый вторник"},
		{"every Wednesday is feminine", "FREQ=WEEKLY;BYDAY=WE", "каждую среду"},
		{"every Sunday is neuter", "FREQ=WEEKLY;BYDAY=SU", "каждое воскресенье"},
		{"several weekdays", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "по понедельникам, средам и пятницам"},
		{"every two weeks on two days", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", "каждые 2 недели по вторникам и четвергам"},
		{"every 21 weeks is feminine", "FREQ=WEEKLY;INTERVAL=21", "каждую 21 неделю"},
		{"every five weeks on weekends", "FREQ=WEEKLY;INTERVAL=5;BYDAY=SA,SU", "каждые 5 недель по выходным"},
		{"every month", "FREQ=MONTHLY", "ежемесячно"},
		{"every other month", "FREQ=MONTHLY;INTERVAL=2", "каждые 2 месяца"},
		{"every twelve months", "FREQ=MONTHLY;INTERVAL=12", "каждые 12 месяцев"},
		{"a day of the month", "FREQ=MONTHLY;BYMONTHDAY=15", "15-го числа каждого месяца"},
		{"two days of the month", "FREQ=MONTHLY;BYMONTHDAY=1,15", "1-го и 15-го числа каждого месяца"},
		{"the last day of the month", "FREQ=MONTHLY;BYMONTHDAY=-1", "в последний день месяца"},
		{"the second Tuesday of the month", "FREQ=MONTHLY;BYDAY=2TU", "во 2-й вторник месяца"},
		{"the first Wednesday of the month", "FREQ=MONTHLY;BYDAY=1WE", "в 1-ю среду месяца"},
		{"the last Friday six times", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=6", "в последнюю пятницу месяца, 6 раз"},
		{"the last Sunday is neuter", "FREQ=MONTHLY;BYDAY=-1SU", "в последнее воскресенье месяца"},
		{"the last workday of the month", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "в последний рабочий день месяца"},
		{"the first workday of the month", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1", "в 1-й рабочий день месяца"},
		{"every three months on a day", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=10;COUNT=2", "каждые 3 месяца, 10-го числа, 2 раза"},
		{"every two months on the second Tuesday", "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TU", "каждые 2 месяца, во 2-й вторник"},
		{"twice, with the right plural", "FREQ=DAILY;COUNT=2", "ежедневно, 2 раза"},
		{"21 times, with the right plural", "FREQ=DAILY;COUNT=21", "ежедневно, 21 раз"},
		{"every year", "FREQ=YEARLY", "ежегодно"},
		{"29 February", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "ежегодно 29 февраля"},
		{"every five years", "FREQ=YEARLY;INTERVAL=5", "каждые 5 лет"},
		{"every two years", "FREQ=YEARLY;INTERVAL=2", "каждые 2 года"},
		{"the last Friday of November", "FREQ=YEARLY;BYMONTH=11;BYDAY=-1FR", "ежегодно в последнюю пятницу ноября"},
		{"in two months of the year", "FREQ=YEARLY;BYMONTH=3,9", "ежегодно в марте и сентябре"},
		{"weekdays in a month of the year", "FREQ=YEARLY;BYMONTH=3;BYDAY=MO", "ежегодно по понедельникам в марте"},
		{"a weekly set position is not lost", "FREQ=WEEKLY;BYDAY=MO,FR;BYSETPOS=1", "по понедельникам и пятницам (1-й по порядку)"},
		{"a monthly rule in some months", "FREQ=MONTHLY;BYMONTHDAY=15;BYMONTH=3,9", "ежемесячно, 15-го числа, только в марте и сентябре"},
		{"a daily rule in one month", "FREQ=DAILY;BYMONTH=12", "ежедневно, только в декабре"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustRule(t, tt.rule).Describe(); got != tt.want {
				t.Errorf("Describe(%s) = %q, want %q", tt.rule, got, tt.want)
			}
		})
	}
}
