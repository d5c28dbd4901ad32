// Package help is the portal's help section: short answers for citizens
// («Как зарегистрироваться», «Забыли пароль», «Платёж не прошёл»…), grouped
// in sections, each in Russian and English.
//
// Articles are data versioned with the code: articles.yaml, embedded and
// checked when the portal starts (Load), so a broken article stops the
// process instead of failing a citizen's page. The checks: unique ids that
// are slugs, a known section, a title and a body in both languages,
// keywords, and links that are plain paths (a portal page, or one of the
// identity provider's pages the portal makes absolute with its URL) —
// never a URL from the data.
//
// Bodies use a tiny markup, never HTML: paragraphs separated by a blank
// line, and lists as paragraphs whose lines start with "- " (Blocks); the
// portal renders the blocks with html/template, so the data cannot inject
// markup.
//
// Search uses the catalogue's machinery (portal/catalog/search.Text), so
// the help box understands a citizen as the catalogue's does: Russian and
// English stems («пароля» finds «пароль»), one typo («пасворд»), titles
// weighing more than keywords, keywords more than bodies.
package help
