package appointments

import (
	"context"
	"fmt"
	"time"
)

// Catalogue services the demo places serve.
var centreServices = []string{"passport-14", "passport-20", "foreign-passport", "residence-registration", "vehicle-registration"}

// holidays2027 are Russia's public holidays of 2027 with the days off
// moved from weekends (May 10 for May 9, June 14 for June 12).
var holidays2027 = []struct {
	m    time.Month
	d    int
	note string
}{
	{1, 1, "Новогодние каникулы"}, {1, 2, "Новогодние каникулы"}, {1, 3, "Новогодние каникулы"}, {1, 4, "Новогодние каникулы"},
	{1, 5, "Новогодние каникулы"}, {1, 6, "Новогодние каникулы"}, {1, 7, "Рождество Христово"}, {1, 8, "Новогодние каникулы"},
	{2, 23, "День защитника Отечества"}, {3, 8, "Международный женский день"}, {5, 1, "Праздник Весны и Труда"},
	{5, 9, "День Победы"}, {5, 10, "День Победы (перенос)"}, {6, 12, "День России"}, {6, 14, "День России (перенос)"},
	{11, 4, "День народного единства"},
}

func holidays(extra ...Exception) []Exception {
	out := []Exception{{Date: Date{2026, 12, 31}, Hours: mustHours("08:00-15:00"), Note: "Предпраздничный день"}}
	for _, h := range holidays2027 {
		out = append(out, Exception{Date: Date{2027, h.m, h.d}, Note: h.note})
	}
	return append(out, extra...)
}

func mustHours(s string) Hours {
	h, err := ParseHours(s)
	if err != nil {
		panic(err)
	}
	return h
}

func week(weekdays, saturday, sunday string) Week {
	var w Week
	for d := time.Monday; d <= time.Friday; d++ {
		w[d] = mustHours(weekdays)
	}
	w[time.Saturday], w[time.Sunday] = mustHours(saturday), mustHours(sunday)
	return w
}

// Seed writes the sandbox's demo places, windows and doctors. It is
// idempotent: every row has a fixed id and is upserted.
func Seed(ctx context.Context, st *Store) error {
	centreWeek := week("08:00-20:00", "10:00-17:00", "")
	centres := []Place{
		{ID: "mfc-msk-tverskoy", Name: "МФЦ района Тверской", Region: "77", Address: "г. Москва, ул. Каретный Ряд, д. 2/1", Phone: "+7 495 777-77-77", TZ: "Europe/Moscow"},
		{ID: "mfc-msk-arbat", Name: "МФЦ района Арбат", Region: "77", Address: "г. Москва, ул. Новый Арбат, д. 36/9", Phone: "+7 495 777-77-77", TZ: "Europe/Moscow"},
		{ID: "mfc-msk-maryino", Name: "МФЦ района Марьино", Region: "77", Address: "г. Москва, ул. Люблинская, д. 169, корп. 2", Phone: "+7 495 777-77-77", TZ: "Europe/Moscow"},
		{ID: "mfc-kzn-vakhitovsky", Name: "МФЦ Вахитовского района", Region: "16", Address: "г. Казань, ул. Пушкина, д. 5/43", Phone: "+7 843 211-01-01", TZ: "Europe/Moscow"},
		{ID: "mfc-nsk-centralny", Name: "МФЦ «Мои документы» Центрального округа", Region: "54", Address: "г. Новосибирск, ул. Ленина, д. 57", Phone: "+7 383 271-48-48", TZ: "Asia/Novosibirsk"},
		{ID: "mfc-vvo-leninsky", Name: "МФЦ Ленинского района", Region: "25", Address: "г. Владивосток, ул. Светланская, д. 49", Phone: "+7 423 201-01-56", TZ: "Asia/Vladivostok"},
	}
	for _, p := range centres {
		p.Agency, p.Kind, p.Week, p.Exceptions = "mfc", KindCentre, centreWeek, holidays()
		if err := st.SavePlace(ctx, p); err != nil {
			return fmt.Errorf("seed %s: %w", p.ID, err)
		}
		for i := 1; i <= 4; i++ {
			r := Resource{ID: fmt.Sprintf("%s-w%d", p.ID, i), PlaceID: p.ID, Kind: ResWindow, Name: fmt.Sprintf("Окно %d", i),
				Step: 15, Capacity: 1, Services: centreServices}
			if err := st.SaveResource(ctx, r); err != nil {
				return fmt.Errorf("seed %s: %w", r.ID, err)
			}
		}
		if err := st.SetDuration(ctx, p.ID, "foreign-passport", 30); err != nil {
			return err
		}
	}

	clinic := Place{ID: "clinic-msk-gp12", Agency: "health-dept", Kind: KindClinic, Name: "Городская поликлиника № 12",
		Region: "77", Address: "г. Москва, ул. Бакинская, д. 26", Phone: "+7 495 322-14-42", TZ: "Europe/Moscow",
		Week: week("08:00-13:00,14:00-20:00", "09:00-15:00", ""), Exceptions: holidays()}
	if err := st.SavePlace(ctx, clinic); err != nil {
		return fmt.Errorf("seed %s: %w", clinic.ID, err)
	}
	doctors := []Resource{
		{ID: "gp12-ivanova", Name: "Иванова Мария Петровна", Specialty: "терапевт", Step: 15},
		{ID: "gp12-sokolov", Name: "Соколов Андрей Викторович", Specialty: "терапевт", Step: 15},
		{ID: "gp12-kuznetsova", Name: "Кузнецова Елена Сергеевна", Specialty: "стоматолог", Step: 30},
		{ID: "gp12-morozov", Name: "Морозов Дмитрий Игоревич", Specialty: "офтальмолог", Step: 20},
		{ID: "gp12-volkov", Name: "Волков Сергей Александрович", Specialty: "хирург", Step: 20},
	}
	for _, r := range doctors {
		r.PlaceID, r.Kind, r.Capacity, r.Services = clinic.ID, ResDoctor, 1, []string{"doctor-appointment"}
		if err := st.SaveResource(ctx, r); err != nil {
			return fmt.Errorf("seed %s: %w", r.ID, err)
		}
	}

	gibdd := Place{ID: "gibdd-msk-mreo1", Agency: "mvd", Kind: KindAgency, Name: "МРЭО ГИБДД № 1 ГУ МВД России по г. Москве",
		Region: "77", Address: "г. Москва, ул. Вернадского, д. 30", Phone: "+7 495 200-02-02", TZ: "Europe/Moscow",
		Week: week("09:00-13:00,14:00-18:00", "09:00-14:00", ""), Exceptions: holidays()}
	gibdd.Week[time.Monday] = nil // the office's sanitary day
	if err := st.SavePlace(ctx, gibdd); err != nil {
		return fmt.Errorf("seed %s: %w", gibdd.ID, err)
	}
	for i := 1; i <= 3; i++ {
		r := Resource{ID: fmt.Sprintf("mreo1-w%d", i), PlaceID: gibdd.ID, Kind: ResWindow, Name: fmt.Sprintf("Окно %d", i),
			Step: 15, Capacity: 1, Services: []string{"vehicle-registration"}}
		if err := st.SaveResource(ctx, r); err != nil {
			return fmt.Errorf("seed %s: %w", r.ID, err)
		}
	}
	return st.SetDuration(ctx, gibdd.ID, "vehicle-registration", 30)
}
