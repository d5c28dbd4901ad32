// Package applications keeps citizens' applications for services: drafts
// saved as the citizen types, submission with a number, and one state
// machine for every change of status, whoever makes it (the citizen, an
// officer at /office, an agency's system through /agency/v1).
//
// Statuses (the product's words):
//
//	draft          Черновик: only the citizen sees it; saved on every change
//	received       Получено: submitted, numbered, waiting for the agency
//	in_review      На проверке: an officer took it into work
//	info_requested Требуется дополнительная информация: the citizen adds files or a comment
//	approved       Одобрено: with the agency's result document
//	refused        Отклонено: with the officer's reason
//	cancelled      Аннулировано: the citizen withdrew it before review
//
// Every change is a compare-and-swap on the application's version (and
// status): of two officers acting at once, or a citizen cancelling while
// an officer takes it, exactly one wins and the other gets ErrConflict. A
// change that the machine does not allow from the current status is
// ErrTransition (HTTP 409). Another citizen's application is ErrNotFound
// (404: its existence is not confirmed).
package applications
