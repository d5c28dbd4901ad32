package portal

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/blob"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/message/webpush"
	"github.com/gosid/gosid/internal/message/webpush/pushtest"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/keys/cms"
	"github.com/gosid/gosid/portal/applications"
	"github.com/gosid/gosid/portal/appointments"
	"github.com/gosid/gosid/portal/auth"
	"github.com/gosid/gosid/portal/catalog/search"
	"github.com/gosid/gosid/portal/catalog/store"
	"github.com/gosid/gosid/portal/help"
	"github.com/gosid/gosid/portal/notify"
	"github.com/gosid/gosid/portal/payments"
	"github.com/gosid/gosid/portal/payments/acquirer"
	"github.com/gosid/gosid/portal/sandbox"
	"github.com/gosid/gosid/portal/support"
)

//go:embed web/templates/*.html web/static/* web/mail/*.html
var webFS embed.FS

// Config is what the portal needs to know.
type Config struct {
	// IdPURL is the identity provider's public URL (its issuer);
	// PortalURL the portal's own (the agency API's problem types).
	IdPURL, PortalURL string
	// Auth signs citizens in; nil serves the public pages only.
	Auth *auth.Service
	// Secure: the portal is served over HTTPS (cookie names and flags).
	Secure bool
	Logger *slog.Logger

	// The portal's own data, with Auth: its database (the catalogue,
	// applications), the sealer of what it keeps secret, the store of
	// files (encrypted), the sender of SMS and e-mail, the key of the
	// one-time codes' hashes, and the clock (nil: time.Now).
	DB       *sqldb.DB
	Sealer   auth.Sealer
	Blobs    blob.Store
	Messages message.Sender
	CodeKey  []byte
	Now      func() time.Time
	// Jobs runs the citizens' notices and the agencies' webhooks.
	Jobs *jobs.Queue
	// Sandbox (development mode only): agencies' result documents are
	// signed with the sandbox agency's GOST key (portal/sandbox), whose CA
	// and CRL the portal serves for the citizen's check.
	Sandbox bool
	// IndexKey keys the hashes that find charges by whom they concern
	// (32 bytes or more); Acquirer takes card payments (nil: charges are
	// shown but cannot be paid here) and AcquirerSecret verifies its
	// notifications.
	IndexKey       []byte
	Acquirer       acquirer.Client
	AcquirerSecret []byte
	// SandboxAcquirer (development mode only) is the sandbox acquirer's
	// API and payment pages, served under /sandbox/acquirer/.
	SandboxAcquirer http.Handler
	// QuietHours holds SMS and push from 22:00 to 08:00 in the citizen's
	// time zone. Off in development mode, whose messages go to the
	// development sink, where holding them would only puzzle.
	QuietHours bool
	// PushHTTP is the client that posts to browsers' push services (nil:
	// webpush's default); PushSandbox (development mode only) serves a
	// push-service stand-in under /sandbox/push/ (webpush/pushtest).
	PushHTTP    *http.Client
	PushSandbox bool
	// NoticeBackoff, when set, is the wait after a notice's failed attempt
	// n on every channel (tests); nil is each channel's own.
	NoticeBackoff func(n int) time.Duration
	// Signatures checks a detached e-signature of content as e-signature
	// sign-in does (the identity provider's trust list and CRLs); nil:
	// services that need one cannot be submitted here.
	Signatures func(ctx context.Context, signature, content []byte) (*cms.Result, error)
}

// Handler serves the portal's pages.
type Handler struct {
	cfg      Config
	auth     *auth.Service
	log      *slog.Logger
	render   *webui.Renderer
	mux      *http.ServeMux
	routes   http.Handler
	db       *sqldb.DB
	searcher *search.Searcher
	apps     *applications.Store
	blobs    blob.Store
	messages message.Sender
	now      func() time.Time
	jobs     *jobs.Queue
	appts    *appointments.Store
	pays     *payments.Store
	notify   *notify.Store
	push     *webpush.Client
	static   http.FileSystem
	help     *help.Help
	support  *support.Store
}

// New parses every page with the portal's layout at start-up (a broken
// template stops the process instead of failing a citizen's request).
func New(cfg Config) (*Handler, error) {
	if cfg.Auth != nil && (cfg.DB == nil || cfg.Sealer == nil || cfg.Blobs == nil || cfg.Messages == nil || len(cfg.CodeKey) < 32 || cfg.Jobs == nil ||
		len(cfg.IndexKey) < 32) {
		return nil, errors.New("portal: signing in needs the database, sealer, file store, message sender, code and index keys and job queue")
	}
	pages, err := fs.Sub(webFS, "web")
	if err != nil {
		return nil, err
	}
	r, err := webui.NewRenderer(pages, webui.Merge(texts, visitTexts, notifyTexts, helpTexts, supportTexts), cfg.Logger, "home", "signin_failed", "need_more", "profile",
		"services", "service", "applications", "application", "review", "notices", "office", "office_app",
		"appointments", "book", "booking", "office_day", "office_place", "charges", "charge", "payment", "payments", "documents",
		"notice", "settings", "unsubscribe", "help", "help_article",
		"support_list", "support_new", "support_request", "support_console", "support_console_request")
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(webFS, "web/static")
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, auth: cfg.Auth, log: cfg.Logger, render: r, db: cfg.DB, blobs: cfg.Blobs, messages: cfg.Messages, now: cfg.Now, jobs: cfg.Jobs}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if cfg.DB != nil {
		h.notify = notify.NewStore(cfg.DB, h.now)
	}
	h.static = http.FS(static)
	if cfg.Auth != nil {
		if h.push, err = loadPush(context.Background(), cfg, h.now()); err != nil {
			return nil, fmt.Errorf("portal: web push key: %w", err)
		}
	}
	mux := http.NewServeMux()
	h.mux = mux
	if cfg.PushSandbox {
		stand := pushtest.New()
		stand.SetBase(strings.TrimSuffix(cfg.PortalURL, "/") + sandboxPushPrefix)
		mux.Handle(sandboxPushPrefix+"/", http.StripPrefix(sandboxPushPrefix, stand.Handler()))
	}
	mux.HandleFunc("GET /{$}", h.showHome)
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(static)))
	mux.Handle("GET /static/gosid.css", webui.Static())
	mux.Handle("GET /static/gosid.js", webui.Static())
	if err := h.mountHelp(mux); err != nil {
		return nil, err
	}
	if cfg.DB != nil && len(cfg.IndexKey) >= 32 {
		// Unsubscribing by an e-mail's link needs no sign-in: the signed
		// token in it is the authority.
		mux.HandleFunc("GET /unsubscribe", h.showUnsubscribe)
		mux.HandleFunc("POST /unsubscribe", h.unsubscribe)
	}
	if h.auth != nil {
		mux.HandleFunc("GET /login", h.login)
		mux.HandleFunc("GET "+auth.CallbackPath, h.callback)
		mux.HandleFunc("POST /logout", h.logout)
		mux.HandleFunc("POST "+auth.BackchannelPath, h.auth.BackchannelLogout)
		mux.HandleFunc("GET "+auth.JWKSPath, h.jwks)
		mux.HandleFunc("GET /profile", h.require(auth.Need{}, h.showProfile))
		h.mountApplications(mux, cfg.Sealer)
		h.apps.OnChange = h.changed
		h.mountAppointments(mux)
		h.mountCharges(mux)
		h.mountSupport(mux)
		r.SetSupportLink(supportNewPath)
		for _, register := range []func(*jobs.Queue) error{h.registerWebhooks, h.registerNotices, h.registerBroadcasts, h.registerReminders, h.registerReconcile, h.registerDiscounts, h.registerSupport} {
			if err := register(h.jobs); err != nil {
				return nil, err
			}
		}
		if cfg.SandboxAcquirer != nil {
			mux.Handle(sandboxAcquirerPrefix+"/", cfg.SandboxAcquirer)
		}
	}
	// The identity provider posts back-channel logouts from its own
	// origin: no cookie authenticates them, the signed token does.
	// The agency API: bearer tokens, no cookies; nothing a forged
	// cross-site request could borrow.
	// The acquirer's notifications: the HMAC over the body authenticates
	// them. The sandbox acquirer guards its own forms. Unsubscribing: the
	// signed token in the URL is the authority (RFC 8058's one-click POST
	// comes from the mail provider, not from our page).
	h.routes = webui.Protect(h.withSession(webui.WithErrorPages(mux, r)), "POST "+auth.BackchannelPath,
		"POST /agency/v1/", "PUT /agency/v1/", "POST "+notifyPath, "POST "+sandboxAcquirerPrefix+"/", "POST "+sandboxPushPrefix+"/",
		"POST /unsubscribe")
	return h, nil
}

// sandboxPushPrefix is where the development mode serves the push-service
// stand-in: browsers' subscriptions point there (the portal's Chromium
// test makes the browser take one from it).
const sandboxPushPrefix = "/sandbox/push"

// sandboxAcquirerPrefix is where the development mode serves the sandbox
// acquirer (portal/payments/sandbox).
const sandboxAcquirerPrefix = "/sandbox/acquirer"

// Page adds a page for signed-in citizens whose sign-in meets need (a
// service's level, a second factor): the portal's modules register theirs
// before serving.
func (h *Handler) Page(pattern string, need auth.Need, page http.HandlerFunc) {
	h.mux.HandleFunc(pattern, h.require(need, page))
}

// mountApplications serves the catalogue and the citizen's applications.
func (h *Handler) mountApplications(mux *http.ServeMux, sealer auth.Sealer) {
	services := store.NewStore(h.db, h.now)
	h.searcher = search.NewSearcher(services, h.now, h.log)
	h.apps = applications.NewStore(h.db, sealer, h.now)
	mux.HandleFunc("GET /services", h.showServices)
	mux.HandleFunc("GET /services/{id}", h.showService)
	mux.HandleFunc("POST /services/{id}/apply", h.apply)
	signedIn := func(f http.HandlerFunc) http.HandlerFunc { return h.require(auth.Need{}, f) }
	mux.HandleFunc("GET /applications", signedIn(h.showApplications))
	mux.HandleFunc("GET /applications/{id}", signedIn(h.showApplication))
	mux.HandleFunc("POST /applications/{id}", signedIn(h.saveApplication))
	mux.HandleFunc("POST /applications/{id}/autosave", signedIn(h.autosave))
	mux.HandleFunc("POST /applications/{id}/files", signedIn(h.uploadFile))
	mux.HandleFunc("GET /applications/{id}/files/{file}", signedIn(h.downloadFile))
	mux.HandleFunc("POST /applications/{id}/files/{file}/delete", signedIn(h.deleteFile))
	mux.HandleFunc("GET /applications/{id}/review", signedIn(h.showReview))
	mux.HandleFunc("POST /applications/{id}/code", signedIn(h.sendCode))
	mux.HandleFunc("GET /applications/{id}/document", signedIn(h.signedDocument))
	mux.HandleFunc("POST /applications/{id}/sign", signedIn(h.signSubmit))
	mux.HandleFunc("POST /applications/{id}/submit", signedIn(h.submit))
	mux.HandleFunc("POST /applications/{id}/cancel", signedIn(h.cancelApplication))
	mux.HandleFunc("POST /applications/{id}/respond", signedIn(h.respond))
	h.mountNotices(mux, signedIn)
	if h.cfg.Sandbox {
		mux.HandleFunc("GET /sandbox/ca.pem", func(w http.ResponseWriter, r *http.Request) {
			sendBytes(w, "application/x-pem-file", "ca.pem", sandbox.CA)
		})
		mux.HandleFunc("GET /sandbox/ca.crl", func(w http.ResponseWriter, r *http.Request) {
			sendBytes(w, "application/pkix-crl", "ca.crl", sandbox.CRL)
		})
	}
	officer := func(f http.HandlerFunc) http.HandlerFunc { return h.require(officeNeed, f) }
	mux.HandleFunc("GET /office", officer(h.showOffice))
	mux.HandleFunc("GET /office/applications/{id}", officer(h.showOfficeApp))
	mux.HandleFunc("GET /office/applications/{id}/files/{file}", officer(h.officeFile))
	mux.HandleFunc("POST /office/applications/{id}/move", officer(h.officeMove))
	h.mountAgencyAPI(mux)
	mux.HandleFunc("PUT /agency/v1/webhook", h.agencyAPI(h.apiSetWebhook))
	mux.HandleFunc("GET /agency/v1/webhook/deliveries", h.agencyAPI(h.apiDeliveries))
}

func sendBytes(w http.ResponseWriter, contentType, name string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}

// Seed imports the default services into an empty catalogue (at start).
func Seed(ctx context.Context, db *sqldb.DB) error {
	_, err := store.SeedDefaults(ctx, store.NewStore(db, time.Now))
	return err
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.routes.ServeHTTP(w, r) }

// Server is the portal as its listener serves it: the pages, liveness at
// GET /healthz, and the platform's middleware (request ids, logs, metrics).
func (h *Handler) Server(opts httpx.Options) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.Handle("GET /healthz", httpx.Healthz())
	if opts.ErrorPage == nil {
		opts.ErrorPage = h.render.ErrorPage // a panic's 500, branded
	}
	return httpx.Wrap("portal", mux, opts)
}

func staticFiles(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

var texts = webui.Catalog{
	"nav.notices":                     {"Уведомления", "Notifications"},
	"notices.title":                   {"Уведомления", "Notifications"},
	"notices.empty":                   {"Уведомлений пока нет.", "No notices yet."},
	"notices.new":                     {"новое", "new"},
	"notice.status":                   {"Заявление «%s» № %s: %s.", "Application «%s» No. %s: %s."},
	"notice.comment":                  {"Комментарий: %s", "Comment: %s"},
	"notice.mail_subject.application": {"Заявление на портале Gosid", "Your application on the Gosid portal"},
	"notice.mail_subject.booking":     {"Запись на приём — портал Gosid", "Your appointment — Gosid portal"},
	"notice.mail_subject.charge":      {"Начисления и платежи — портал Gosid", "Charges and payments — Gosid portal"},
	"notice.booking.booked":           {"Вы записаны: «%s», %s, %s. Номер записи %s.", "Booked: «%s», %s, %s. Booking No. %s."},
	"notice.booking.rescheduled":      {"Запись перенесена: «%s», теперь %s, %s. Номер записи %s.", "Rescheduled: «%s», now %s, %s. Booking No. %s."},
	"notice.booking.cancelled":        {"Запись отменена: «%s», %s, %s. Номер записи %s.", "Cancelled: «%s», %s, %s. Booking No. %s."},
	"notice.booking.closure":          {"Приём отменён ведомством: «%s», %s, %s (номер записи %s). Запишитесь на другое время.", "The office cancelled your visit: «%s», %s, %s (booking No. %s). Please book another time."},
	"notice.booking.reminder":         {"Напоминаем о приёме: «%s», %s, %s. Номер записи %s.", "Reminder of your visit: «%s», %s, %s. Booking No. %s."},
	"notice.booking.arrived":          {"Вы отмечены как пришедший на приём: «%s», %s, %s (номер записи %s).", "You checked in: «%s», %s, %s (booking No. %s)."},
	"notice.booking.served":           {"Приём состоялся: «%s», %s, %s (номер записи %s).", "Your visit took place: «%s», %s, %s (booking No. %s)."},
	"notice.booking.no_show":          {"Приём не состоялся — вы не пришли: «%s», %s, %s (номер записи %s).", "Missed visit: «%s», %s, %s (booking No. %s)."},
	"notice.charge.new":               {"Новое начисление: %s — %s ₽, УИН %s.", "New charge: %s — %s ₽, UIN %s."},
	"notice.charge.changed":           {"Начисление изменено ведомством: %s — %s ₽, УИН %s.", "The agency changed a charge: %s — %s ₽, UIN %s."},
	"notice.charge.cancelled":         {"Начисление отменено ведомством: %s — %s ₽, УИН %s.", "The agency cancelled a charge: %s — %s ₽, UIN %s."},
	"notice.charge.paid":              {"Оплачено: %s — %s ₽, УИН %s. Квитанция в разделе «Платежи».", "Paid: %s — %s ₽, UIN %s. The receipt is under «Payments»."},
	"notice.charge.discount":          {"Скидка заканчивается: %s — %s ₽ со скидкой, УИН %s. Оплатите до конца дня %s.", "The discount is ending: %s — %s ₽ with the discount, UIN %s. Pay by the end of %s."},
	"notice.charge.refunded":          {"Возврат: %s — %s ₽, УИН %s.", "Refunded: %s — %s ₽, UIN %s."},
	"office.title":                    {"Рабочее место сотрудника ведомства", "Agency officer's desk"},
	"office.agency":                   {"Ведомство", "Agency"},
	"office.status":                   {"Статус", "Status"},
	"office.open":                     {"Все нерешённые", "All undecided"},
	"office.show":                     {"Показать", "Show"},
	"office.number":                   {"Номер", "Number"},
	"office.service":                  {"Услуга", "Service"},
	"office.submitted":                {"Подано", "Submitted"},
	"office.due":                      {"Срок", "Due"},
	"office.overdue":                  {"просрочено", "overdue"},
	"office.empty":                    {"Заявлений нет.", "No applications."},
	"office.next":                     {"Следующие", "Next"},
	"office.app":                      {"Заявление № %s", "Application No. %s"},
	"office.citizen":                  {"Заявитель", "Applicant"},
	"office.data":                     {"Сведения заявителя", "Applicant's details"},
	"office.files":                    {"Файлы", "Files"},
	"office.take":                     {"Взять в работу", "Take into work"},
	"office.ask":                      {"Запросить дополнительные сведения", "Ask for more information"},
	"office.approve":                  {"Одобрить и приложить результат", "Approve with the result"},
	"office.refuse":                   {"Отказать", "Refuse"},
	"office.comment":                  {"Комментарий для заявителя", "Comment for the applicant"},
	"office.result":                   {"Результат (PDF)", "Result (PDF)"},
	"office.signature":                {"Подпись результата (.sig)", "The result's signature (.sig)"},
	"office.signature_hint":           {"Открепленная электронная подпись PDF-результата сертификатом ведомства (с его ОГРН), сделанная программой электронной подписи. Нужна для одобрения.", "The PDF result's detached e-signature by the agency's certificate (with its OGRN), made by the signing software. Needed to approve."},
	"nav.office":                      {"Рабочее место", "Desk"},
	"nav.services":                    {"Услуги", "Services"},
	"nav.applications":                {"Заявления", "Applications"},
	"services.title":                  {"Каталог услуг", "Services"},
	"services.search":                 {"Поиск услуги", "Find a service"},
	"services.search_ph":              {"Например, загранпаспорт", "For example, foreign passport"},
	"services.find":                   {"Найти", "Search"},
	"services.kind":                   {"Тип услуги", "Kind"},
	"services.agency":                 {"Ведомство", "Agency"},
	"services.region":                 {"Код региона", "Region code"},
	"services.any":                    {"Любой", "Any"},
	"services.mine":                   {"Только доступные моей учётной записи", "Only those my account can use"},
	"services.found":                  {"Найдено услуг: %d", "Services found: %d"},
	"services.none":                   {"Ничего не нашлось. Проверьте написание или выберите услугу в каталоге.", "Nothing found. Check the spelling or choose a service from the catalogue."},
	"services.needs":                  {"Нужна %s учётная запись", "Needs a %s account"},
	"kind.application":                {"Заявление", "Application"},
	"kind.certificate":                {"Справка или выписка", "Certificate or extract"},
	"kind.appointment":                {"Запись на приём", "Appointment"},
	"kind.payment":                    {"Оплата", "Payment"},
	"service.agency":                  {"Ведомство", "Agency"},
	"service.kind":                    {"Тип услуги", "Kind"},
	"service.level":                   {"Учётная запись", "Account"},
	"service.days":                    {"Срок оказания", "Processing time"},
	"service.days_n":                  {"%d раб. дн.", "%d working days"},
	"service.at_once":                 {"сразу", "at once"},
	"service.cost":                    {"Стоимость", "Cost"},
	"service.free":                    {"бесплатно", "free"},
	"service.fee":                     {"%s ₽", "%s ₽"},
	"service.fee_kop":                 {"%s ₽ %02d коп.", "%s ₽ %02d kop."},
	"service.docs":                    {"Какие документы понадобятся", "Documents you will need"},
	"service.doc_limits":              {"%s, до %s", "%s, up to %s"},
	"service.optional":                {"необязательно", "optional"},
	"service.apply":                   {"Получить услугу", "Apply"},
	"service.signin":                  {"Войдите, чтобы получить услугу", "Sign in to apply"},
	"service.raise":                   {"Услуга доступна с уровнем «%s». Подтвердите личность, чтобы получить её.", "This service needs the «%s» level. Confirm your identity to use it."},
	"service.not_online":              {"Эта услуга оказывается не через заявление на портале.", "This service is not an application on the portal."},
	"apps.title":                      {"Мои заявления", "My applications"},
	"apps.empty":                      {"Заявлений пока нет. Найдите услугу в каталоге.", "No applications yet. Find a service in the catalogue."},
	"apps.number":                     {"№ %s", "No. %s"},
	"apps.draft":                      {"черновик", "draft"},
	"apps.updated":                    {"Изменено %s", "Changed %s"},
	"apps.action":                     {"Требует действия", "Needs your action"},
	"apps.saved":                      {"Черновик сохранён.", "The draft is saved."},
	"apps.autosave":                   {"Черновик сохраняется автоматически.", "The draft is saved as you type."},
	"apps.submitted":                  {"Заявление отправлено. Номер заявления: %s.", "The application is sent. Its number is %s."},
	"apps.fix":                        {"Исправьте ошибки в отмеченных полях.", "Please correct the marked fields."},
	"apps.form":                       {"Сведения", "Details"},
	"apps.files":                      {"Документы", "Documents"},
	"apps.upload":                     {"Загрузить", "Upload"},
	"apps.choose":                     {"Файл", "File"},
	"apps.remove":                     {"Удалить", "Remove"},
	"apps.save":                       {"Сохранить черновик", "Save draft"},
	"apps.next":                       {"Далее: проверить и отправить", "Next: review and send"},
	"apps.delete":                     {"Удалить черновик", "Delete draft"},
	"apps.status":                     {"Статус", "Status"},
	"apps.submitted_at":               {"Отправлено", "Sent"},
	"apps.due":                        {"Срок рассмотрения — до %s", "To be decided by %s"},
	"apps.history":                    {"История", "History"},
	"apps.asked":                      {"Ведомство просит: %s", "The agency asks: %s"},
	"apps.respond":                    {"Ответить ведомству", "Reply to the agency"},
	"apps.comment":                    {"Комментарий", "Comment"},
	"apps.send_back":                  {"Отправить на рассмотрение", "Send for review"},
	"apps.cancel":                     {"Аннулировать заявление", "Withdraw the application"},
	"apps.cancel_hint":                {"Отменить заявление можно только до начала рассмотрения.", "An application can be withdrawn only before review begins."},
	"sign.title":                      {"Подпишите заявление электронной подписью", "Sign the application with your e-signature"},
	"sign.how":                        {"Эта услуга требует квалифицированной электронной подписи. Скачайте заявление, подпишите его (открепленная подпись CMS, например: gosid sign --key КЛЮЧ --cert СЕРТИФИКАТ --in заявление.json --out заявление.json.sig) и загрузите подпись.", "This service needs a qualified e-signature. Download the application, sign it (a detached CMS signature, e.g. gosid sign --key KEY --cert CERT --in application.json --out application.json.sig) and upload the signature."},
	"sign.download":                   {"Скачать заявление для подписи", "Download the application to sign"},
	"sign.file":                       {"Файл подписи (.sig)", "Signature file (.sig)"},
	"sign.send":                       {"Подписать и отправить", "Sign and send"},
	"sign.off":                        {"Проверка электронной подписи сейчас недоступна на портале.", "E-signature checks are not available on the portal now."},
	"sign.choose":                     {"Выберите файл подписи.", "Choose the signature file."},
	"sign.invalid":                    {"Подпись не прошла проверку: она не подписывает это заявление, или сертификат недействителен, отозван или выдан не аккредитованным удостоверяющим центром. Скачайте заявление заново и подпишите его.", "The signature failed the check: it does not sign this application, or the certificate is not valid, revoked or not issued by an accredited authority. Download the application again and sign it."},
	"sign.not_yours":                  {"Подпись сделана сертификатом другого человека, или ваш СНИЛС ещё не подтверждён: СНИЛС и фамилия в сертификате должны совпадать с вашими подтверждёнными данными в Gosid.", "The signature is by someone else's certificate, or your SNILS is not verified yet: its SNILS and surname must match your verified Gosid data."},
	"apps.signed":                     {"Результат подписан электронной подписью ведомства (файл .sig, ГОСТ Р 34.10-2012). Проверить подпись можно командой gosid certs verify с сертификатом удостоверяющего центра и списком отзыва:", "The result is signed by the agency (the .sig file, GOST R 34.10-2012). Check the signature with gosid certs verify, the certification authority's certificate and its revocation list:"},
	"apps.signed_agency":              {"Результат подписан усиленной квалифицированной электронной подписью ведомства (файл .sig — открепленная подпись). Её можно проверить и самостоятельно — любой программой проверки электронной подписи.", "The result carries the agency's qualified e-signature (the .sig file, a detached signature). Any e-signature checker verifies it too."},
	"apps.result":                     {"Результат", "Result"},
	"apps.check":                      {"Проверка электронной подписи", "E-signature check"},
	"apps.check.valid":                {"Подпись действительна.", "The signature is valid."},
	"apps.check.valid_means":          {"Документ не изменён после подписания, сертификат ведомства выдан аккредитованным удостоверяющим центром, действует и не отозван.", "The document has not changed since it was signed; the agency's certificate is issued by an accredited authority, in force and not revoked."},
	"apps.check.invalid":              {"Подпись не прошла проверку:", "The signature failed the check:"},
	"apps.check.ask":                  {"Задайте вопрос по заявлению — ведомство выдаст результат заново.", "Ask about the application: the agency will issue the result again."},
	"apps.check.valid_when":           {"Подпись была действительна, когда результат выдан (%s).", "The signature was valid when the result was issued (%s)."},
	"apps.check.expired_since":        {"Срок действия сертификата ведомства с тех пор истёк; документ, подписанный до этого, остаётся подписанным.", "The agency's certificate has expired since; a document signed before that stays signed."},
	"apps.check.unchecked":            {"Проверить подпись на портале сейчас не удалось: обновите страницу позже или проверьте файл подписи (.sig) любой программой проверки электронной подписи.", "The signature could not be checked here just now: reload the page later, or check the signature file (.sig) with any e-signature checker."},
	"apps.check.holder":               {"Владелец сертификата", "Certificate holder"},
	"apps.check.ogrn":                 {"ОГРН", "OGRN"},
	"apps.check.issuer":               {"Удостоверяющий центр", "Certification authority"},
	"apps.check.serial":               {"Серийный номер сертификата", "Certificate serial number"},
	"apps.check.validity":             {"Срок действия сертификата", "Certificate validity"},
	"apps.check.signed_at":            {"Время подписания (по данным подписи)", "Signed at (as the signature states)"},
	"apps.review":                     {"Проверьте заявление", "Check the application"},
	"apps.edit":                       {"Вернуться и изменить", "Go back and change"},
	"apps.send_code":                  {"Получить код для отправки", "Get the code to send it"},
	"apps.code_to":                    {"Для подтверждения отправки мы пришлём код в SMS на номер %s.", "To confirm sending it, we will text a code to %s."},
	"apps.code":                       {"Код из SMS", "Code from the SMS"},
	"apps.code_sent":                  {"Код отправлен на номер %s. Он действует 10 минут.", "The code was sent to %s. It is valid for 10 minutes."},
	"apps.send":                       {"Отправить заявление", "Send the application"},
	"apps.no_phone":                   {"Для отправки заявления нужен подтверждённый мобильный телефон в учётной записи Gosid.", "Sending an application needs a confirmed mobile phone in your Gosid account."},
	"apps.code_wait":                  {"Новый код можно получить через минуту, не чаще пяти раз в час.", "A new code can be sent after a minute, at most five times an hour."},
	"apps.code_sms":                   {"Код %s — подтверждение отправки заявления «%s» на портале Gosid. Никому его не сообщайте.", "Code %s confirms sending the application «%s» on the Gosid portal. Do not share it."},
	"apps.code_unsent":                {"Не удалось отправить SMS. Попробуйте через несколько минут.", "The SMS could not be sent. Please try again in a few minutes."},
	"apps.code_again":                 {"Запросите новый код.", "Ask for a new code."},
	"apps.code_expired":               {"Срок действия кода истёк. Запросите новый код.", "The code has expired. Ask for a new one."},
	"apps.code_wrong":                 {"Неверный код.", "Wrong code."},
	"status.draft":                    {"Черновик", "Draft"},
	"status.received":                 {"Получено", "Received"},
	"status.in_review":                {"На проверке", "In review"},
	"status.info_requested":           {"Требуется дополнительная информация", "More information needed"},
	"status.approved":                 {"Одобрено", "Approved"},
	"status.refused":                  {"Отклонено", "Refused"},
	"status.cancelled":                {"Аннулировано", "Withdrawn"},
	"actor.citizen":                   {"Вы", "You"},
	"actor.officer":                   {"Сотрудник ведомства", "Agency officer"},
	"actor.agency":                    {"Система ведомства", "Agency system"},
	"portal.title":                    {"Gosid — портал госуслуг", "Gosid — public services portal"},
	"portal.lead":                     {"Единая учётная запись для государственных услуг и сайтов-партнёров.", "One account for public services and partner sites."},
	"portal.signin":                   {"Войти через Gosid", "Sign in with Gosid"},
	"portal.soon":                     {"Каталог услуг, заявления, запись на приём и платежи скоро появятся здесь.", "The service catalogue, applications, appointments and payments will appear here soon."},
	"portal.footer":                   {"Gosid — портал государственных услуг", "Gosid — public services portal"},
	"portal.nav":                      {"Меню", "Menu"},
	"home.hello":                      {"Здравствуйте, %s!", "Hello, %s!"},
	"home.hello_anon":                 {"Здравствуйте!", "Hello!"},
	"home.level":                      {"Уровень учётной записи: %s.", "Account level: %s."},
	"home.raise":                      {"Подтвердите личность, чтобы получить доступ ко всем услугам", "Confirm your identity to use every service"},
	"home.profile":                    {"Мои данные", "My data"},
	"home.action":                     {"Требуют вашего действия", "Waiting for you"},
	"home.recent":                     {"Последние изменения", "Recent changes"},
	"home.all":                        {"Все заявления", "All applications"},
	"home.empty":                      {"Заявлений пока нет. Найдите нужную услугу в каталоге.", "No applications yet. Find the service you need in the catalogue."},
	"level.simplified":                {"упрощённая", "simplified"},
	"level.standard":                  {"стандартная", "standard"},
	"level.confirmed":                 {"подтверждённая", "confirmed"},
	"signin.failed":                   {"Не удалось войти", "Sign-in failed"},
	"signin.cancelled":                {"Вход отменён.", "The sign-in was cancelled."},
	"signin.no_mfa":                   {"Для этой услуги нужен вход со вторым фактором, а он не настроен. Включите его в разделе «Безопасность» учётной записи Gosid.", "This service needs a sign-in with a second factor, and your account has none. Turn one on under «Security» in your Gosid account."},
	"signin.expired":                  {"Ссылка для входа устарела или уже использована. Войдите ещё раз.", "The sign-in link has expired or was already used. Please sign in again."},
	"signin.other_browser":            {"Вход не завершён: браузер не сохранил cookie портала, или ссылка для входа открыта не в том браузере, где вход начинали. Разрешите cookie для портала и войдите ещё раз.", "The sign-in was not finished: the browser did not keep the portal's cookie, or the sign-in link was opened in another browser than the one it began in. Allow cookies for the portal and sign in again."},
	"signin.refused":                  {"Gosid прислал ответ, который портал не может принять. Попробуйте войти ещё раз.", "Gosid sent an answer the portal cannot accept. Please sign in again."},
	"signin.unavailable":              {"Сервис входа временно недоступен. Попробуйте через несколько минут.", "The sign-in service is temporarily unavailable. Please try again in a few minutes."},
	"signin.retry":                    {"Войти ещё раз", "Sign in again"},
	"need.title":                      {"Нужен более высокий уровень", "A higher level is needed"},
	"need.level":                      {"Эта услуга доступна с уровнем учётной записи «%s». Сейчас у вашей учётной записи уровень «%s».", "This service needs the «%s» account level. Your account is «%s» now."},
	"need.mfa":                        {"Для этой услуги нужно войти со вторым фактором (кодом из приложения или ключом доступа).", "This service needs a sign-in with a second factor (an app code or a passkey)."},
	"need.raise":                      {"Подтвердить личность в Gosid", "Confirm your identity at Gosid"},
	"need.retry":                      {"Войти ещё раз", "Sign in again"},
	"profile.title":                   {"Мои данные", "My data"},
	"profile.lead":                    {"Сведения из вашей учётной записи Gosid. Изменить их можно в Gosid.", "The data of your Gosid account. Change them at Gosid."},
	"profile.verified":                {"проверено", "verified"},
	"profile.claimed":                 {"не проверено", "not verified"},
	"profile.edit":                    {"Изменить в Gosid", "Change at Gosid"},
	"profile.family_name":             {"Фамилия", "Family name"},
	"profile.given_name":              {"Имя", "Given name"},
	"profile.middle_name":             {"Отчество", "Patronymic"},
	"profile.birthdate":               {"Дата рождения", "Date of birth"},
	"profile.snils":                   {"СНИЛС", "SNILS"},
	"profile.inn":                     {"ИНН", "INN"},
	"profile.passport":                {"Паспорт", "Passport"},
	"profile.phone":                   {"Телефон", "Phone"},
	"profile.email":                   {"Электронная почта", "E-mail"},
}

// homeView is the home page's data: the landing page, or the citizen's
// dashboard.
type homeView struct {
	portalPage
	LoginURL string
	IdP      string
	Session  *auth.Session
	Catalog  bool
	// Action are the applications waiting for the citizen (drafts, more
	// information asked); Recent the latest changes of the others.
	Action, Recent []appItem
	// Visits are the coming bookings; Unpaid the charges to pay.
	Visits []bookingItem
	Unpaid []chargeItem
}

// homeRecent is how many recent applications the home page lists.
const homeRecent = 5

func (h *Handler) showHome(w http.ResponseWriter, r *http.Request) {
	v := homeView{portalPage: h.page(r, "portal.title"), LoginURL: h.cfg.IdPURL, IdP: h.cfg.IdPURL, Session: session(r), Catalog: h.apps != nil}
	if h.auth != nil {
		v.LoginURL = "/login"
	}
	if v.Session != nil && h.apps != nil {
		list, err := h.apps.List(r.Context(), v.Session.Subject, 50)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, it := range h.appItems(r, list) {
			if it.NeedsAction {
				v.Action = append(v.Action, it)
			} else if len(v.Recent) < homeRecent {
				v.Recent = append(v.Recent, it)
			}
		}
		if err := h.homeVisitsAndCharges(r, &v); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.render.Render(w, r, http.StatusOK, "home", v)
}

// profileView is «Мои данные»: what the portal knows of the citizen from
// Gosid, and which of it is verified.
type profileView struct {
	portalPage
	P      auth.Profile
	IdP    string
	Fields []profileField
}

type profileField struct {
	Label, Value string
	Verified     bool
}

func (h *Handler) showProfile(w http.ResponseWriter, r *http.Request) {
	p := session(r).Profile
	v := profileView{portalPage: h.page(r, "profile.title"), P: p, IdP: h.cfg.IdPURL}
	l := v.L
	for _, f := range []struct{ key, field, value string }{
		{"profile.family_name", "family_name", p.FamilyName}, {"profile.given_name", "given_name", p.GivenName},
		{"profile.middle_name", "middle_name", p.MiddleName}, {"profile.birthdate", "birthdate", p.Birthdate},
		{"profile.snils", "snils", p.SNILS}, {"profile.inn", "inn", p.INN}, {"profile.passport", "passport", p.Passport},
		{"profile.phone", "phone", p.Phone}, {"profile.email", "email", p.Email},
	} {
		if f.value != "" {
			v.Fields = append(v.Fields, profileField{Label: l.T(f.key), Value: f.value, Verified: p.IsVerified(f.field)})
		}
	}
	h.render.Render(w, r, http.StatusOK, "profile", v)
}
