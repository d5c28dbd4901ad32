// Package webui is what every module's HTML pages share (the identity
// provider's and the portal's): the layout, the
// stylesheet and script, the Russian/English catalogue lookup, typed page
// rendering into a buffer (so a template error is a clean 500, never half a
// page), form values with field-level errors, and cross-origin protection
// for every state-changing form.
//
// Each capability package (idp/login, idp/registration, portal/…)
// embeds its own page templates, each defining a "content" block, and
// parses them with the layout at start-up through NewRenderer, which fails
// start-up when a template is missing or broken. A module may bring its own
// templates/layout.html (the portal does); otherwise the shared layout wraps
// its pages.
//
// Error pages: WithErrorPages wraps a module's routes so that every error a
// citizen can reach (400, 403, 404, 405, 413, 429, 500, 503) is a branded page
// in the module's layout with a way back, never Go's plain text; 5xx pages
// show the request id so support can find the log line. Handlers render one
// with Renderer.ErrorPage; cross-origin refusals (Protect) and oversized
// bodies (LimitBodies) use the same pages.
//
// Language: Russian unless the request asks for English by ?lang=en (which
// is remembered in the gosid_lang cookie), ui_locales (OpenID Connect), or
// Accept-Language.
package webui
