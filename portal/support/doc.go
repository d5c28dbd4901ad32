// Package support keeps citizens' support requests («Обратная связь»): a
// request with a topic, a description, files and a contact for the
// answer, its number, and the conversation between the citizen and
// Gosid's support staff.
//
// Statuses (the product's words) and who moves a request between them:
//
//	new            Новое: the citizen sent it; nobody has taken it yet
//	in_progress    В работе: a staff member took it (Take), or the citizen
//	               answered a question (Reply) or reopened it (Reopen)
//	awaiting_reply Ожидает ответа: staff asked the citizen something (Answer
//	               with await)
//	resolved       Решено: staff resolved it (Resolve); for ReopenWindow
//	               (14 days) the citizen may reopen it with a message
//	closed         Закрыто: CloseExpired, a periodic sweep, closes a
//	               request resolved more than ReopenWindow ago; final
//
// Every transition is a compare-and-swap on the request's version: of two
// staff taking one request, or a citizen replying while staff resolve, one
// wins and the other gets ErrConflict (stale version) — the page shows the
// request again. A transition the machine does not allow from the current
// status is ErrTransition; another citizen's request is ErrNotFound.
//
// Texts are sealed at rest (the contact and every message, each bound to
// its row); files are encrypted bytes in internal/blob written by the
// caller before the transaction that records them (the caller deletes
// them if it fails). OnChange runs inside the transaction of a creation,
// an answer, a resolution and a closure, so that the citizen's notice
// exists exactly when the change does.
package support
