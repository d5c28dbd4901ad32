package appointments

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // places carry IANA zones; the binary must not depend on the host's tzdata
)

// Sentinel errors; callers check them with errors.Is.
var (
	ErrNotFound     = errors.New("appointments: not found")
	ErrSlotTaken    = errors.New("appointments: the slot is taken")
	ErrActiveExists = errors.New("appointments: an active booking for this service exists")
	ErrNotOffered   = errors.New("appointments: no such slot is offered")
	ErrPast         = errors.New("appointments: the time is past or too close")
	ErrTooFar       = errors.New("appointments: the time is beyond the booking horizon")
	ErrCutOff       = errors.New("appointments: too late to change the booking")
	ErrTransition   = errors.New("appointments: not allowed from the current status")
	ErrTooEarly     = errors.New("appointments: the visit's day has not come")
	ErrConflict     = errors.New("appointments: changed meanwhile")
	ErrInUse        = errors.New("appointments: the resource has upcoming bookings")
)

// Kind of place.
const (
	KindCentre = "centre" // МФЦ
	KindAgency = "agency" // an agency's own office
	KindClinic = "clinic"
)

// Kind of resource.
const (
	ResWindow = "window"
	ResDoctor = "doctor"
	ResDesk   = "desk"
)

// Status is a booking's status.
type Status string

const (
	Booked    Status = "booked"
	Cancelled Status = "cancelled"
	Arrived   Status = "arrived"
	Served    Status = "served"
	NoShow    Status = "no_show"
)

// Reasons of a cancellation.
const (
	ByCitizen = "citizen"
	ByClosure = "closure"
	ByAgency  = "agency"
)

// outcomes is the officer's state machine after booking.
var outcomes = map[Status][]Status{
	Booked:  {Arrived, NoShow},
	Arrived: {Served},
}

// Interval is an opening interval in minutes since local midnight, [From, To).
type Interval struct {
	From int `json:"from"`
	To   int `json:"to"`
}

func (iv Interval) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", iv.From/60, iv.From%60, iv.To/60, iv.To%60)
}

// Hours is a day's opening intervals, ascending, not touching: a lunch break
// is the gap between two intervals.
type Hours []Interval

func (h Hours) String() string {
	parts := make([]string, len(h))
	for i, iv := range h {
		parts[i] = iv.String()
	}
	return strings.Join(parts, ",")
}

var hoursRE = regexp.MustCompile(`^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$`)

// ParseHours reads "08:00-13:00,14:00-20:00" (spaces allowed around items).
// An empty string (or "-") is a day off. 24:00 is allowed as an end.
func ParseHours(s string) (Hours, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "-" {
		return nil, nil
	}
	var h Hours
	for _, part := range strings.Split(s, ",") {
		m := hoursRE.FindStringSubmatch(strings.TrimSpace(part))
		if m == nil {
			return nil, errors.New("hours: expected HH:MM-HH:MM")
		}
		n := make([]int, 4)
		for i := range n {
			n[i], _ = strconv.Atoi(m[i+1])
		}
		if n[1] > 59 || n[3] > 59 || n[0] > 23 || n[2] > 24 || (n[2] == 24 && n[3] != 0) {
			return nil, errors.New("hours: no such time of day")
		}
		h = append(h, Interval{From: n[0]*60 + n[1], To: n[2]*60 + n[3]})
	}
	if err := h.validate(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h Hours) validate() error {
	for i, iv := range h {
		if iv.From < 0 || iv.To > 24*60 || iv.From >= iv.To {
			return errors.New("hours: an interval ends before it starts")
		}
		if i > 0 && iv.From <= h[i-1].To {
			return errors.New("hours: intervals must ascend with a gap between them")
		}
	}
	return nil
}

// Week is the regular opening hours, indexed by time.Weekday (Sunday 0).
type Week [7]Hours

// Date is a civil date (a day of the place's calendar).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf is t's civil date in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// In is the start of the day in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// Before reports whether d is an earlier day than e.
func (d Date) Before(e Date) bool { return d.String() < e.String() }

// ParseDate reads an ISO date (2027-01-07) or a form's ДД.ММ.ГГГГ.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "02.01.2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return DateOf(t), nil
		}
	}
	return Date{}, errors.New("date: expected YYYY-MM-DD or ДД.ММ.ГГГГ")
}

// MarshalText / UnmarshalText let dates travel as ISO strings in JSON.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Exception replaces a date's regular hours: a holiday (Hours empty) or
// special hours.
type Exception struct {
	Date  Date   `json:"date"`
	Hours Hours  `json:"hours"`
	Note  string `json:"note,omitempty"`
}

// LoadTZ validates an IANA zone name.
func LoadTZ(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, errors.New("tz: an IANA zone name is required")
	}
	return time.LoadLocation(name)
}

// FieldError is one field's problem, in Russian and English.
type FieldError struct {
	Field string
	RU    string
	EN    string
}

// ValidationError lists every field to fix. Its text carries field names
// only, never values.
type ValidationError struct{ Fields []FieldError }

func (e *ValidationError) Error() string {
	names := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		names[i] = f.Field
	}
	return "appointments: invalid " + strings.Join(names, ", ")
}

func (e *ValidationError) add(field, ru, en string) {
	e.Fields = append(e.Fields, FieldError{field, ru, en})
}

func (e *ValidationError) orNil() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Place is where citizens come.
type Place struct {
	ID         string
	Agency     string // "mfc", "health-dept", "mvd"…
	Kind       string // KindCentre, KindAgency, KindClinic
	Name       string
	Region     string // two-digit region code, "77"
	Address    string
	Phone      string
	TZ         string // IANA, "Europe/Moscow"
	Week       Week
	Exceptions []Exception
}

var (
	idRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	regionRE = regexp.MustCompile(`^\d{2,3}$`)
)

// Validate checks a place before it is saved.
func (p *Place) Validate() error {
	var e ValidationError
	if !idRE.MatchString(p.ID) {
		e.add("id", "Идентификатор: латинские строчные буквы, цифры, «.», «_», «-», до 64 знаков", "ID: lower-case Latin letters, digits, '.', '_', '-', up to 64 characters")
	}
	if !idRE.MatchString(p.Agency) {
		e.add("agency", "Укажите код ведомства", "Give the agency code")
	}
	if !slices.Contains([]string{KindCentre, KindAgency, KindClinic}, p.Kind) {
		e.add("kind", "Тип места: centre, agency или clinic", "Kind: centre, agency or clinic")
	}
	if strings.TrimSpace(p.Name) == "" || len(p.Name) > 300 {
		e.add("name", "Укажите название", "Give the name")
	}
	if !regionRE.MatchString(p.Region) {
		e.add("region", "Код региона: две или три цифры", "Region code: two or three digits")
	}
	if strings.TrimSpace(p.Address) == "" || len(p.Address) > 500 {
		e.add("address", "Укажите адрес", "Give the address")
	}
	if _, err := LoadTZ(p.TZ); err != nil {
		e.add("tz", "Неизвестный часовой пояс (например, Europe/Moscow)", "Unknown time zone (e.g. Europe/Moscow)")
	}
	for wd, h := range p.Week {
		if h.validate() != nil {
			e.add("week."+weekdayKeys[wd], "Часы работы: интервалы по возрастанию, например 08:00-13:00,14:00-20:00", "Hours: ascending intervals, e.g. 08:00-13:00,14:00-20:00")
		}
	}
	seen := map[Date]bool{}
	for i, x := range p.Exceptions {
		if x.Hours.validate() != nil || x.Date.Year < 2000 || seen[x.Date] || DateOf(x.Date.In(time.UTC)) != x.Date {
			e.add(fmt.Sprintf("exceptions.%d", i), "Исключение: неверная дата или часы, или дата повторяется", "Exception: a wrong date or hours, or a repeated date")
		}
		seen[x.Date] = true
	}
	return e.orNil()
}

// hours returns the opening hours of date d.
func (p *Place) hours(d Date, wd time.Weekday) Hours {
	for _, x := range p.Exceptions {
		if x.Date == d {
			return x.Hours
		}
	}
	return p.Week[wd]
}

// Resource is a window, a desk or a doctor at a place.
type Resource struct {
	ID        string
	PlaceID   string
	Kind      string // ResWindow, ResDoctor, ResDesk
	Name      string // «Окно 3», «Иванова Мария Петровна»
	Specialty string // for doctors: «терапевт»
	Step      int    // grid in minutes; 0 means 15
	Capacity  int    // seats per cell; 0 means 1
	Services  []string
}

// Validate checks a resource before it is saved (defaults filled in).
func (r *Resource) Validate() error {
	if r.Step == 0 {
		r.Step = 15
	}
	if r.Capacity == 0 {
		r.Capacity = 1
	}
	var e ValidationError
	if !idRE.MatchString(r.ID) {
		e.add("id", "Идентификатор: латинские строчные буквы, цифры, «.», «_», «-»", "ID: lower-case Latin letters, digits, '.', '_', '-'")
	}
	if !slices.Contains([]string{ResWindow, ResDoctor, ResDesk}, r.Kind) {
		e.add("kind", "Тип: window, doctor или desk", "Kind: window, doctor or desk")
	}
	if strings.TrimSpace(r.Name) == "" || len(r.Name) > 300 {
		e.add("name", "Укажите название или ФИО", "Give the name")
	}
	if r.Kind == ResDoctor && strings.TrimSpace(r.Specialty) == "" {
		e.add("specialty", "Укажите специальность врача", "Give the doctor's specialty")
	}
	if r.Step < 5 || r.Step > 240 || (24*60)%r.Step != 0 {
		e.add("step", "Шаг записи: от 5 до 240 минут, делитель суток", "Step: 5 to 240 minutes, dividing a day")
	}
	if r.Capacity < 1 || r.Capacity > 100 {
		e.add("capacity", "Мест в интервале: от 1 до 100", "Seats per cell: 1 to 100")
	}
	for _, s := range r.Services {
		if !idRE.MatchString(s) {
			e.add("services", "Неверный идентификатор услуги", "A wrong service ID")
			break
		}
	}
	return e.orNil()
}

// Booking is a citizen's visit.
type Booking struct {
	ID           string
	Number       string // «З-2612-12345678»
	Subject      string
	ServiceID    string
	PlaceID      string
	ResourceID   string
	Start, End   time.Time // UTC; show in TZ
	TZ           string    // the place's zone
	Status       Status
	CancelReason string // ByCitizen, ByClosure, ByAgency when cancelled
	Officer      string // who marked the outcome
	Version      int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Local returns the start in the place's zone.
func (b *Booking) Local() time.Time {
	if loc, err := time.LoadLocation(b.TZ); err == nil {
		return b.Start.In(loc)
	}
	return b.Start
}

// Slot is a bookable time on a resource.
type Slot struct {
	ResourceID string
	Start, End time.Time
	Free       int // seats left
}

// Day is a calendar day with its number of free slots (0: greyed).
type Day struct {
	Date Date
	Free int
}

// ChangeKind says what happened to a booking.
type ChangeKind string

const (
	ChangeBooked      ChangeKind = "booked"
	ChangeRescheduled ChangeKind = "rescheduled"
	ChangeCancelled   ChangeKind = "cancelled"
	ChangeClosure     ChangeKind = "closure"
	ChangeMarked      ChangeKind = "marked"
)

// Change is a booking change as its transaction sees it.
type Change struct {
	Kind    ChangeKind
	Booking Booking // after the change
	// PreviousStart and PreviousResource are the old slot of a reschedule.
	PreviousStart    time.Time
	PreviousResource string
	// Reason is a closure's reason as the agency gave it (for the citizen).
	Reason string
}

// weekdayKeys are the field names of a week's days, Sunday first as
// time.Weekday counts.
var weekdayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseWeek reads a week from per-day strings keyed "mon" … "sun", each as
// ParseHours takes it; a missing day is a day off. Errors name the day's
// field ("week.mon").
func ParseWeek(days map[string]string) (Week, error) {
	var w Week
	var e ValidationError
	for key := range days {
		if !slices.Contains(weekdayKeys[:], key) {
			e.add("week", "Дни недели: mon, tue, wed, thu, fri, sat, sun", "Days of the week: mon, tue, wed, thu, fri, sat, sun")
			break
		}
	}
	for wd, key := range weekdayKeys {
		h, err := ParseHours(days[key])
		if err != nil {
			e.add("week."+key, "Часы работы: например 08:00-13:00,14:00-20:00", "Hours: e.g. 08:00-13:00,14:00-20:00")
			continue
		}
		w[wd] = h
	}
	return w, e.orNil()
}
