// Package search finds services of the catalogue (portal/catalog) from one
// search box, with Russian morphology and tolerance of one typo, and
// filters them by kind, agency, region and the citizen's level.
//
// The index lives in each replica's memory, built in Go from the store's
// snapshot, so that results are identical whatever the database (SQLite's
// and PostgreSQL's full-text search differ in stemming and ranking). Words
// are stemmed with the Snowball stemmers (github.com/kljensen/snowball:
// Russian for Cyrillic words, English for Latin ones), so «паспорта» and
// «паспорт» meet; compound words («загранпаспорт») are found through the
// keywords of the definitions. A word of four letters or more that occurs
// nowhere matches the terms one edit away («пасморт» → «паспорт»), found
// through an index of one-letter deletions rather than a scan.
//
// The machinery is generic: Text indexes any documents given as Doc
// (titles, keywords, texts in both languages) and finds those holding
// every word of a query, scored; Index builds one over the catalogue's
// services and adds the filters and the order, and the portal's help
// (portal/help) builds another over its articles, so that both search
// boxes understand a citizen alike.
//
// Availability: a service that needs a higher level than the citizen's is
// kept in the results and marked NeedsLevel, so that the citizen learns it
// exists and that raising the level opens it (as Госуслуги shows such
// services); Query.OnlyAvailable leaves them out instead.
//
// A Searcher keeps the index current: at most once a second per replica it
// reads the catalogue version (one row) and rebuilds the index when an
// import has changed it, so every replica sees an import within about a
// second.
package search
