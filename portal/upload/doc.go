// Package upload holds the portal's rules for citizens' files — what an
// attachment to an application may be — as pure functions over the bytes;
// storing them is internal/blob's.
//
//   - Type by content, never by name: PDF (begins with "%PDF-1." or
//     "%PDF-2.", "%%EOF" within its last 1024 bytes), JPEG and PNG (the
//     standard library's decoders read their headers; PNG's chunks are
//     walked with their checksums up to IEND, JPEG must carry its end
//     marker). Anything else — a zip renamed ".pdf", HTML renamed ".png",
//     an empty file — is refused. Pixels are not decoded: a 40-megapixel
//     image would need 160 MB per upload; the header, the structure and
//     the dimension limits (MaxSide, MaxPixels, against decompression
//     bombs) are checked instead.
//   - A name whose extension claims another type than the content (a PNG
//     named ".pdf", a document named ".docx") is refused, not silently
//     renamed: the citizen may have picked the wrong file, and the message
//     says what the file really is. A name without a known extension gets
//     the detected type's.
//   - Names are normalised to the product's rule («имя файла должно
//     содержать только латинские буквы, цифры, символы «_» и «-»»): see
//     Name. Cyrillic is transliterated by the ICAO Doc 9303 table that
//     Russian passports use (order of the FMS of Russia No. 320 of
//     15.10.2012; «Справка о доходах.pdf» → "Spravka_o_dokhodakh.pdf").
//   - Limits: MaxFileSize per file (5 MB, where MB = 2^20 bytes, as the
//     citizen's operating system counts: a file Windows shows as "5,00 МБ"
//     passes) and MaxTotalSize per application (CheckTotal).
//
// Errors are *Error values naming the form field, with a Russian and an
// English message that names the limit; they never repeat the file's name
// (it may carry personal data) in Error().
package upload
