// Package portal is the citizen portal ("личный кабинет"): a relying party
// of the Gosid identity provider with its own session and tables. It talks to
// the IdP only over HTTP (OpenID Connect and the documented APIs), exactly as
// a third-party site would, and imports none of idp, verification or keys.
// Open builds it from a Setup (inside gosid serve or alone, gosid portal).
//
// Citizens sign in through Gosid (portal/auth: code flow with PKCE,
// private_key_jwt, back-channel logout); pages that need a level or a
// second factor send them to Gosid to step up and back (Handler.Page).
// Services and applications (portal/applications), appointments
// (portal/appointments), charges with payments (portal/payments) and
// support requests with the support staff's console (portal/support).
//
// Notifications (portal/notify decides, notices.go and deliver.go do):
// every change a citizen should hear of writes a notice in its own
// transaction, with a delivery row and a job per channel (e-mail, SMS, web
// push) that the citizen's settings want. The jobs send through
// internal/message (with a dedupe key) and internal/message/webpush, hold
// SMS and push in quiet hours, keep per-citizen limits and record each
// channel's status, which the notice's page shows.
//
// Routes:
//
//	GET  /{$}                       home: the landing page, or the signed-in citizen's dashboard
//	GET  /login                     sign in at Gosid (?return=/path, ?level=standard|confirmed, ?mfa=1)
//	GET  /auth/callback             the authorization response (portal/auth)
//	POST /logout                    sign out of the portal and of Gosid (RP-initiated logout)
//	POST /auth/backchannel-logout   Gosid's back-channel logout tokens (no cookie; the signed token)
//	GET  /jwks.json                 the portal's client key, for a Gosid that fetches it
//	GET  /profile                   «Мои данные»: the citizen's data from Gosid, verified or not
//	GET  /services                  the catalogue: search (?q=), filters (kind, agency, region, mine), categories
//	GET  /services/{id}             a service: description, agency, level, time, fee, documents
//	POST /services/{id}/apply       start a draft pre-filled from the profile (steps up to the service's level first)
//	GET  /applications              «Мои заявления»
//	GET  /applications/{id}         a draft's form and documents, or the application's status, history and result
//	POST /applications/{id}         save the draft, go to review (action=review), or delete it (action=delete)
//	POST /applications/{id}/autosave  the draft as the citizen types (portal.js): 204, 409 when no longer a draft
//	POST /applications/{id}/files   attach a file to a document (?doc=KIND, multipart)
//	GET  /applications/{id}/files/{file}         download a file of the application
//	POST /applications/{id}/files/{file}/delete  remove an attached file (draft, or more information asked)
//	GET  /applications/{id}/review  everything entered, before sending
//	POST /applications/{id}/code    text the submission code
//	POST /applications/{id}/submit  the code: the application is sent and numbered
//	GET  /applications/{id}/document  the canonical form to sign (services that need an e-signature)
//	POST /applications/{id}/sign    its detached signature: checked, and the application is sent
//	POST /applications/{id}/cancel  withdraw before review
//	POST /applications/{id}/respond reply when more information was asked
//	GET  /notices                   the inbox: newest first, filter by kind (?kind=), the archive (?box=archive)
//	GET  /notices/{id}              a notice: its text, where it leads, its delivery per channel (read when opened)
//	POST /notices/{id}/archive      to the archive, or back (action=restore)
//	POST /notices/read-all          mark every notice read
//	GET  /settings/notifications    «Настройки → Уведомления»: events × channels, subscriptions, time zone, push
//	POST /settings/notifications    save them
//	POST /settings/notifications/push         this browser's push subscription (portal.js; JSON in "subscription")
//	POST /settings/notifications/push/delete  remove it (by "endpoint")
//	GET  /sw.js                     the service worker that shows web pushes
//	GET  /unsubscribe               unsubscribe by an e-mail's link (?t=TOKEN, no sign-in): asks first
//	POST /unsubscribe               do it: the page's button, or RFC 8058's one-click POST from the mail provider
//	GET  /sandbox/push/             development only: the push-service stand-in (internal/message/webpush/pushtest)
//	GET  /support                   «Мои обращения»: the citizen's support requests (portal/support)
//	GET  /support/new               «Обратная связь»: topic, description, files, contact (?ref=NUMBER: about an application); every error page links here
//	POST /support/new               register the request (multipart): its number, and a notice
//	GET  /support/{id}              a request: status, conversation, reply form, reopen within 14 days of its resolution
//	POST /support/{id}/reply        the citizen's message (an awaited reply puts it back in progress)
//	POST /support/{id}/reopen       reopen a resolved request with a message
//	GET  /support/{id}/files/{file}  a file of the citizen's request
//	GET  /support/console           support staff's queue (role support; a second factor): filters, age, oldest first
//	GET  /support/console/{id}      a request as staff see it (contact masked); ?template=KEY&tlang=ru|en pre-fills a canned answer
//	GET  /support/console/{id}/files/{file}  its files
//	POST /support/console/{id}/take     take it (compare-and-swap: of two staff one wins, the other gets 409)
//	POST /support/console/{id}/answer   answer (await=1: «Ожидает ответа»)
//	POST /support/console/{id}/resolve  resolve, with optional closing words
//	GET  /appointments              «Мои записи»: upcoming bookings first, then past ones with their outcome
//	GET  /appointments/new          book: (specialty → doctor or) place → a month's calendar, days without free time greyed → a time (?service=ID&place=&day=&reschedule=ID)
//	POST /appointments              take the chosen time: a booking number and a ticket
//	GET  /appointments/{id}         the ticket («талон»): number, QR code, place, time; reschedule and cancel until the cut-off
//	GET  /appointments/{id}/ticket.pdf  the ticket as PDF
//	GET  /appointments/{id}/qr.png  the ticket's QR code (the booking number)
//	POST /appointments/{id}/cancel  cancel a booking
//	POST /appointments/{id}/reschedule  move it to another free time (compare-and-swap on its version)
//	GET  /charges                   «Мои начисления»: by the verified SNILS and INN and «Мои документы»; unpaid first; filters, УИН search
//	GET  /charges/{uin}             a charge: amount, discount and its deadline, payee, legal basis, payments
//	POST /charges/{uin}/pay         start (or resume) its one payment and go to the acquirer's page
//	GET  /payments                  the payment history: filters by period, kind, status
//	GET  /payments/export.csv       the history for a Russian Excel (UTF-8 with BOM, «;», «1 234,56»)
//	GET  /payments/{id}             where the acquirer sends the citizen back: the payment's outcome
//	GET  /payments/{id}/receipt.pdf the receipt (PDF, Cyrillic fonts embedded)
//	POST /payments/notify           the acquirer's signed notifications (no cookie; HMAC over the body, time window)
//	GET  /documents                 «Мои документы»: driving licences and СТС to find traffic fines by
//	POST /documents                 add one (validated, sealed, found by a keyed hash)
//	POST /documents/{id}/delete     remove one
//	GET  /sandbox/acquirer/         development only: the sandbox acquirer's API and payment pages (portal/payments/sandbox)
//	GET  /sandbox/ca.pem            development only: the sandbox agency CA, to check results' signatures
//	GET  /sandbox/ca.crl            development only: its revocation list
//	GET  /office                    the agency's queue (officers; a second factor)
//	GET  /office/applications/{id}  an application as its officer sees it
//	GET  /office/applications/{id}/files/{file}  its files
//	POST /office/applications/{id}/move          take, ask, approve with a result, refuse
//	GET  /office/bookings           the day's bookings of an officer's place; marks
//	POST /office/bookings/{id}/mark arrived / served / no-show
//	GET  /office/places/{id}        a place's weekly hours and closures
//	POST /office/places/{id}/hours  change the weekly hours
//	POST /office/places/{id}/closures  announce a closure: its bookings are cancelled, the citizens told
//	GET  /agency/v1/applications    the agency API (docs/agency-api.yaml): list
//	GET  /agency/v1/applications/{id}            one application
//	GET  /agency/v1/applications/{id}/attachments/{file}  a file
//	POST /agency/v1/applications/{id}/status     move its status
//	PUT  /agency/v1/applications/{id}/result     upload the result
//	PUT  /agency/v1/applications/{id}/result/signature  the agency's detached signature of it
//	GET  /agency/v1/places          the agency's places with hours, resources and durations
//	GET  /agency/v1/places/{id}     one place
//	PUT  /agency/v1/places/{id}     publish a place as a whole (hours, exceptions, resources, durations)
//	POST /agency/v1/places/{id}/closures  announce a closure (times with the place's own offset)
//	GET  /agency/v1/places/{id}/bookings  a day's bookings (?date=YYYY-MM-DD)
//	PUT  /agency/v1/charges/{uin}   post a charge, or change an unpaid one (422 naming a bad field, 409 when paid)
//	GET  /agency/v1/charges/{uin}   a charge with its payments
//	POST /agency/v1/charges/{uin}/cancel   cancel an unpaid charge
//	POST /agency/v1/charges/{uin}/refunds  refund a paid one (idempotent on refund_id)
//	PUT  /agency/v1/webhook         set (or remove) the agency's webhook; its secret is answered once
//	GET  /agency/v1/webhook/deliveries           the agency's delivery log
//	GET  /help                      the help (public): sections and their answers, or a search (?q=) with the catalogue's machinery
//	GET  /help/{id}                 one answer (portal/help), its related links and «Напишите в поддержку»
//	GET  /static/                   the portal's stylesheet and icon
//	GET  /static/gosid.css          the shared stylesheet (internal/webui)
//	GET  /static/gosid.js           the shared script (internal/webui): forms sent once
//	GET  /healthz                   liveness (Handler.Server, the portal's listener)
//
// Pages render through internal/webui with the portal's own layout; any
// other address or method gets the portal's branded error page.
package portal
