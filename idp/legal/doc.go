// Package legal serves the documents a citizen agrees to when registering:
// the user agreement and the personal-data processing policy (Federal Law
// 152-FZ «О персональных данных»), in Russian and English. Registration's
// consent checkbox and every page's footer link to them; they are public
// and need no session.
//
// Routes:
//
//	GET /terms     the user agreement («Пользовательское соглашение»)
//	GET /privacy   the personal-data processing policy («Политика обработки персональных данных»)
//
// Version names the edition of both; registration stores it with the time
// of consent, so that an account shows which text its owner agreed to.
package legal
