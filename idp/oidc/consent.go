package oidc

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/assurance"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/webui"
)

// item is one line of the consent page: what is shared, with a masked
// preview of the value.
type item struct {
	Scope   string
	Label   string
	Preview string
	// Verified says who verified the data and when («подтверждено в СФР
	// 12.03.2026»); "" for data nobody verified.
	Verified string
	// Purposes are why the site wants the verified data (the purpose of
	// a verified_claims request), as the site wrote them.
	Purposes []string
}

type consentView struct {
	webui.Page
	ID         string
	ClientName string
	Items      []item
	Offline    bool
}

func (p *Provider) consentItems(l webui.Localizer, a *account.Account, scopes []string, evs []assurance.Evidence, purposes map[string]string) []item {
	var out []item
	for _, s := range client.ShownScopes(scopes) {
		if s == "offline_access" { // told by consent.offline
			continue
		}
		sc, _ := client.LookupScope(s)
		it := item{Scope: s, Label: l.Pick(sc.RU, sc.EN)}
		switch s {
		case "profile":
			parts := []string{a.Name.Full()}
			if !a.BirthDate.IsZero() {
				parts = append(parts, a.BirthDate.Format("02.01.2006"))
			}
			if a.Gender != "" {
				parts = append(parts, l.T("consent.gender."+a.Gender))
			}
			it.Preview = strings.Join(parts, ", ")
		case "fullname":
			it.Preview = a.Name.Full()
		case "birthdate":
			if !a.BirthDate.IsZero() {
				it.Preview = a.BirthDate.Format("02.01.2006")
			}
		case "gender":
			if a.Gender != "" {
				it.Preview = l.T("consent.gender." + a.Gender)
			}
		case "snils":
			if a.SNILS != "" {
				it.Preview = validate.MaskSNILS(a.SNILS)
			}
		case "inn":
			it.Preview = validate.MaskINN(a.INN)
		case "id_doc":
			if a.Passport != nil {
				it.Preview = validate.MaskPassport(a.Passport.Series, a.Passport.Number)
			}
		case "email":
			if a.Email.Value != "" {
				it.Preview = validate.MaskEmail(a.Email.Value)
			}
		case "mobile":
			if a.Phone.Value != "" {
				it.Preview = validate.MaskPhone(a.Phone.Value)
			}
		}
		if it.Preview == "" {
			it.Preview = l.T("consent.none")
		}
		claims := scopeVerifiable(a, s)
		if e := verifiedBy(a, claims, evs); e != nil {
			it.Verified = l.T("consent.verified", l.T("consent.by."+verifierKey(*e)), e.VerifiedAt.In(moscow).Format("02.01.2006"))
		}
		for _, c := range claims {
			if pu := purposes[c]; pu != "" && !slices.Contains(it.Purposes, pu) {
				it.Purposes = append(it.Purposes, pu)
			}
		}
		out = append(out, it)
	}
	return out
}

func (p *Provider) showConsent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, err := p.store.authRequest(ctx, r.URL.Query().Get("id"))
	if err != nil {
		p.expiredOrRetry(w, r, "read the request", err)
		return
	}
	sess, err := p.deps.Sessions.Current(r)
	if err != nil {
		if !isVerdict(err) {
			p.retryPage(w, r, "read the session", err)
			return
		}
		http.Redirect(w, r, pathContinue+"?id="+url.QueryEscape(ar.ID), http.StatusFound)
		return
	}
	a, err := p.deps.Accounts.Get(ctx, sess.AccountID)
	if err != nil {
		p.retryPage(w, r, "read the account", err)
		return
	}
	c, err := p.deps.Clients.Get(ctx, ar.Request.ClientID)
	if err != nil {
		p.clientGone(w, r, ar, err)
		return
	}
	var evs []assurance.Evidence
	if p.deps.Evidence != nil {
		if evs, err = p.deps.Evidence.Evidence(ctx, a.ID); err != nil {
			p.retryPage(w, r, "read the evidence", err)
			return
		}
	}
	var purposes map[string]string
	if cr := ar.Request.Claims; cr != nil {
		purposes = cr.UserInfo.purposes()
		for k, v := range cr.IDToken.purposes() {
			if purposes == nil {
				purposes = map[string]string{}
			}
			purposes[k] = v
		}
	}
	pg := p.render.NewPage(r, "consent.title")
	pg.SignedIn = true
	v := consentView{Page: pg, ID: ar.ID, ClientName: c.Name, Items: p.consentItems(pg.L, a, ar.Request.Scopes, evs, purposes),
		Offline: slices.Contains(ar.Request.Scopes, "offline_access")}
	p.render.Render(w, r, http.StatusOK, "consent", v)
}

func (p *Provider) submitConsent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, err := p.store.authRequest(ctx, r.PostFormValue("id"))
	if err != nil {
		p.expiredOrRetry(w, r, "read the request", err)
		return
	}
	sess, err := p.deps.Sessions.Current(r)
	if err != nil {
		if !isVerdict(err) {
			p.retryPage(w, r, "read the session", err)
			return
		}
		http.Redirect(w, r, pathContinue+"?id="+url.QueryEscape(ar.ID), http.StatusSeeOther)
		return
	}
	switch r.PostFormValue("decision") {
	case "allow":
		if err := p.store.saveGrant(ctx, sess.AccountID, ar.Request.ClientID, ar.Request.Scopes); err != nil {
			p.retryPage(w, r, "save the consent", err)
			return
		}
		a, err := p.deps.Accounts.Get(ctx, sess.AccountID)
		if err != nil {
			p.retryPage(w, r, "read the account", err)
			return
		}
		p.complete(w, r, ar, sess, a)
	case "deny":
		p.fail(w, r, ar, zoidc.ErrAccessDenied().WithDescription("the user refused to share the data"))
	default:
		http.Redirect(w, r, pathConsent+"?id="+url.QueryEscape(ar.ID), http.StatusSeeOther)
	}
}

type levelView struct {
	webui.Page
	ID, ClientName, Have, Need string
}

// showLevel explains that the site needs a higher account level and how to
// get it; cancelling returns unmet_authentication_requirements.
func (p *Provider) showLevel(w http.ResponseWriter, r *http.Request, ar *AuthRequest, c *client.Client, a *account.Account, need assurance.Level) {
	if r.URL.Query().Get("cancel") == "1" {
		p.fail(w, r, ar, oauthError("unmet_authentication_requirements", "the account's assurance level is below the level the client requires"))
		return
	}
	pg := p.render.NewPage(r, "level.title")
	pg.SignedIn = true
	v := levelView{Page: pg, ID: ar.ID, ClientName: c.Name, Have: pg.L.T("level." + string(a.Level)), Need: pg.L.T("level." + string(need))}
	p.render.Render(w, r, http.StatusOK, "level", v)
}

// moscow is the time zone of dates on the consent page.
var moscow = time.FixedZone("MSK", 3*3600)

// scopeVerifiable lists the claims of a scope that evidence can verify
// and the account has a value for: the data the consent page calls
// verified when evidence verifies every one of them.
func scopeVerifiable(a *account.Account, scope string) []string {
	var cand []string
	switch scope {
	case "fullname":
		cand = []string{"family_name", "given_name", "middle_name"}
	case "profile":
		cand = []string{"family_name", "given_name", "middle_name", "birthdate"}
	case "birthdate", "snils", "inn", "id_doc":
		cand = []string{scope}
	}
	return slices.DeleteFunc(cand, func(c string) bool { return accountValue(a, c) == "" })
}

// verifiedBy returns the newest evidence that still verifies the first
// of claims, when every one of them is verified by some evidence (the
// same rule as verified_claims: the account's value equals the verified
// one); nil otherwise.
func verifiedBy(a *account.Account, claims []string, evs []assurance.Evidence) *assurance.Evidence {
	evs = assurance.Standing(evs)
	var first *assurance.Evidence
	for i, c := range claims {
		j := slices.IndexFunc(evs, func(e assurance.Evidence) bool {
			_, mapped := evidenceObject(e)
			return mapped && slices.Contains(e.Claims, c) && sameValue(c, accountValue(a, c), e.Values[c])
		})
		if j < 0 {
			return nil
		}
		if i == 0 {
			first = &evs[j]
		}
	}
	return first
}

// verifierKey names who verified evidence, for the consent.by.* texts.
func verifierKey(e assurance.Evidence) string {
	switch e.Method {
	case assurance.MethodRegistry:
		switch e.Verifier.ID {
		case "ru_sfr", "ru_mvd", "ru_fns":
			return e.Verifier.ID
		}
		return "registry"
	case assurance.MethodQualifiedESignature:
		return "ca"
	case assurance.MethodBank:
		return "bank"
	case assurance.MethodOperator:
		return "operator"
	}
	return "other"
}

var catalog = webui.Catalog{
	"consent.verified":      {"подтверждено %s %s", "verified %s on %s"},
	"consent.purpose":       {"Зачем сайту эти данные: %s", "Why the site needs this data: %s"},
	"consent.by.ru_sfr":     {"в СФР", "by the Pension Fund"},
	"consent.by.ru_mvd":     {"в МВД", "by the Ministry of Internal Affairs"},
	"consent.by.ru_fns":     {"в ФНС", "by the Tax Service"},
	"consent.by.registry":   {"в государственном реестре", "by a state registry"},
	"consent.by.ca":         {"электронной подписью", "with an electronic signature"},
	"consent.by.bank":       {"банком", "by a bank"},
	"consent.by.operator":   {"в центре обслуживания", "at a service centre"},
	"consent.by.other":      {"в Gosid", "by Gosid"},
	"consent.title":         {"Доступ к вашим данным", "Access to your data"},
	"consent.lead":          {"Сайт «%s» запрашивает доступ к данным вашей учётной записи Gosid:", "The site “%s” asks for access to the data of your Gosid account:"},
	"consent.offline":       {"Сайт сможет получать эти данные, даже когда вас на нём нет, пока вы не отзовёте доступ.", "The site will be able to get this data while you are away, until you revoke access."},
	"consent.revoke":        {"Отозвать доступ можно в любой момент в учётной записи.", "You can revoke access at any time in your account."},
	"consent.allow":         {"Предоставить", "Allow"},
	"consent.deny":          {"Отказать", "Deny"},
	"consent.none":          {"не указано", "not given"},
	"consent.gender.male":   {"мужской", "male"},
	"consent.gender.female": {"женский", "female"},
	"consent.expired.title": {"Запрос устарел", "Request expired"},
	"consent.expired":       {"Запрос на вход устарел или не найден. Вернитесь на сайт и войдите ещё раз.", "The sign-in request has expired or was not found. Go back to the site and sign in again."},
	"level.title":           {"Нужен более высокий уровень учётной записи", "A higher account level is required"},
	"level.lead":            {"Сайт «%s» работает только с учётными записями уровня «%s». Ваша учётная запись — «%s».", "The site “%s” requires a “%s” account. Yours is “%s”."},
	"level.how":             {"Чтобы повысить уровень, укажите СНИЛС и паспорт в учётной записи, а затем подтвердите личность в банке, центре обслуживания или электронной подписью.", "To raise the level, add your SNILS and passport to your account, then confirm your identity at a bank, a service centre or with an electronic signature."},
	"level.account":         {"Перейти в учётную запись", "Go to my account"},
	"level.cancel":          {"Вернуться на сайт", "Back to the site"},
	"device.title":          {"Вход на устройстве", "Sign in on a device"},
	"device.lead":           {"Введите код, который показан на экране устройства (терминала, телевизора).", "Enter the code shown on the device's screen (kiosk, TV)."},
	"device.code":           {"Код с экрана", "Code from the screen"},
	"device.code.hint":      {"Например, BCDF-GHJK", "For example BCDF-GHJK"},
	"device.continue":       {"Продолжить", "Continue"},
	"device.err.code":       {"Код с экрана: код не найден или устарел — проверьте его или начните вход на устройстве заново", "Code from the screen: not found or expired — check it or start again on the device"},
	"device.err.limit":      {"Слишком много попыток ввода кода. Повторите через %d мин.", "Too many attempts to enter a code. Try again in %d min."},
	"device.approved":       {"Готово: устройство получит доступ через несколько секунд.", "Done: the device will be signed in within a few seconds."},
	"device.denied":         {"Доступ для устройства отклонён.", "The device was denied access."},
	"authz.err.title":       {"Ошибка входа", "Sign-in error"},
	"authz.err.request":     {"Сайт отправил неполный запрос на вход. Вернитесь на сайт и попробуйте ещё раз.", "The site sent an incomplete sign-in request. Go back to the site and try again."},
	"authz.err.invalid":     {"Сайт отправил запрос на вход, который Gosid не может выполнить. Вернитесь на сайт и попробуйте ещё раз.", "The site sent a sign-in request Gosid cannot carry out. Go back to the site and try again."},
	"authz.err.client":      {"Сайт, с которого вы пришли, не зарегистрирован в Gosid. Войти через Gosid на нём нельзя.", "The site you came from is not registered with Gosid; signing in there through Gosid is not possible."},
	"authz.err.redirect":    {"Адрес возврата на сайт не совпадает с зарегистрированным. Чтобы защитить ваши данные, вход прерван.", "The site's return address does not match the registered one. To protect your data, the sign-in was stopped."},
	"level.simplified":      {"Упрощённая", "Simplified"},
	"level.standard":        {"Стандартная", "Standard"},
	"level.confirmed":       {"Подтверждённая", "Confirmed"},
}
