package portal

import "github.com/gosid/gosid/internal/webui"

// helpTexts are the texts of the help pages.
var helpTexts = webui.Catalog{
	"nav.help":         {"Помощь", "Help"},
	"help.title":       {"Помощь", "Help"},
	"help.lead":        {"Ответы на частые вопросы о Gosid и портале.", "Answers to common questions about Gosid and the portal."},
	"help.search":      {"Поиск по справке", "Search the help"},
	"help.search_ph":   {"Например, забыл пароль", "For example, forgot password"},
	"help.find":        {"Найти", "Search"},
	"help.found":       {"Найдено ответов: %d", "Answers found: %d"},
	"help.none":        {"Ничего не нашлось. Проверьте написание или выберите тему ниже.", "Nothing found. Check the spelling or choose a topic below."},
	"help.all":         {"Все разделы справки", "All help topics"},
	"help.links":       {"Полезные ссылки", "Useful links"},
	"help.more":        {"Ещё в разделе «%s»", "More in «%s»"},
	"help.not_found":   {"Не нашли ответ?", "Did not find an answer?"},
	"help.write":       {"Напишите в поддержку", "Write to support"},
	"help.answers":     {"Ответы из справки", "Answers from the help"},
	"help.section_of":  {"Раздел: %s", "Topic: %s"},
	"help.back_to_all": {"← Вся справка", "← All help"},
}
