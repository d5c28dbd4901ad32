package upload

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"github.com/gosid/gosid/internal/webui"
)

// Limits. MB here is 2^20 bytes throughout, in the code and the messages.
const (
	MaxFileSize  = 5 << 20  // 5 МБ per file
	MaxTotalSize = 20 << 20 // 20 МБ per application
	// An image's sides and area: a phone's 50-megapixel photo is
	// 8160×6120; beyond that a browser decoding it for the officer
	// allocates hundreds of megabytes (a decompression bomb).
	MaxSide   = 10000
	MaxPixels = 50_000_000
)

// Type is an accepted kind of file, as its MIME type.
type Type string

const (
	PDF  Type = "application/pdf"
	JPEG Type = "image/jpeg"
	PNG  Type = "image/png"
)

// Ext is the extension a normalised name of the type ends with.
func (t Type) Ext() string {
	switch t {
	case PDF:
		return ".pdf"
	case JPEG:
		return ".jpg"
	case PNG:
		return ".png"
	}
	return ""
}

// Label is the type's name as people know it.
func (t Type) Label() string {
	switch t {
	case PDF:
		return "PDF"
	case JPEG:
		return "JPEG"
	case PNG:
		return "PNG"
	}
	return string(t)
}

// File is an accepted file.
type File struct {
	Name          string // normalised, safe to use as a download name
	Type          Type
	Size          int64
	Width, Height int // images only
}

// Error is a refusal for the form: the field to mark and the message in
// both languages.
type Error struct {
	Field string
	Code  string // too_large, total_too_large, empty, type, damaged, image_too_large, extension
	Text  webui.Text
}

func (e *Error) Error() string {
	return "upload: " + e.Field + ": " + e.Code + ": " + e.Text[1]
}

// Is makes errors.Is(err, &Error{Code: c}) match on the code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code && (t.Field == "" || t.Field == e.Field)
}

func refuse(field, code, ru, en string) *Error {
	return &Error{Field: field, Code: code, Text: webui.Text{ru, en}}
}

func tooLarge(field string) *Error {
	return refuse(field, "too_large",
		fmt.Sprintf("Файл больше 5 МБ (%s байт). Уменьшите его или разделите на части.", spaced(MaxFileSize)),
		fmt.Sprintf("The file is larger than 5 MB (%s bytes). Make it smaller or split it.", commas(MaxFileSize)))
}

// Read reads an uploaded file's bytes, refusing more than MaxFileSize
// after reading one byte past the limit (never the whole body).
func Read(field string, r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("upload: read: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(field)
	}
	return data, nil
}

// CheckTotal refuses adding a file of adding bytes to an application whose
// files take current bytes when the sum passes MaxTotalSize.
func CheckTotal(field string, current, adding int64) error {
	if current < 0 || adding < 0 || current+adding > MaxTotalSize {
		return refuse(field, "total_too_large",
			fmt.Sprintf("Все файлы заявления вместе больше 20 МБ (%s байт). Удалите ненужные или уменьшите файлы.", spaced(MaxTotalSize)),
			fmt.Sprintf("All files of the application together exceed 20 MB (%s bytes). Remove some or make them smaller.", commas(MaxTotalSize)))
	}
	return nil
}

// Check decides what data is by its content, checks it against the limits
// and normalises name (what the citizen's browser sent) for it; field is
// the form field errors are for.
func Check(field, name string, data []byte) (File, error) {
	if len(data) > MaxFileSize {
		return File{}, tooLarge(field)
	}
	if len(data) == 0 {
		return File{}, refuse(field, "empty", "Файл пустой. Выберите другой файл.", "The file is empty. Choose another file.")
	}
	f, err := detect(field, data)
	if err != nil {
		return File{}, err
	}
	f.Size = int64(len(data))
	base, claimed := splitName(name)
	if claimed != "" && claimed != f.Type {
		return File{}, refuse(field, "extension",
			fmt.Sprintf("Расширение файла не соответствует содержимому: это %s. Выберите нужный файл или исправьте расширение.", f.Type.Label()),
			fmt.Sprintf("The file's extension does not match its content: it is a %s. Choose the right file or correct the extension.", f.Type.Label()))
	}
	f.Name = normalise(base) + f.Type.Ext()
	return f, nil
}

var (
	pngSig  = []byte("\x89PNG\r\n\x1a\n")
	jpegSig = []byte{0xFF, 0xD8, 0xFF}
)

func wrongType(field string) *Error {
	return refuse(field, "type",
		"Формат файла не подходит: принимаются только PDF, JPG и PNG.",
		"This kind of file is not accepted: only PDF, JPG and PNG are.")
}

func damaged(field string) *Error {
	return refuse(field, "damaged",
		"Файл повреждён или сохранён не полностью. Сохраните его заново и загрузите ещё раз.",
		"The file is damaged or incomplete. Save it again and upload it once more.")
}

func detect(field string, data []byte) (File, error) {
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-1.")) || bytes.HasPrefix(data, []byte("%PDF-2.")):
		// Readers look for the end marker within the last 1024 bytes
		// (writers may add whitespace or junk after it).
		tail := data[max(0, len(data)-1024):]
		if !bytes.Contains(tail, []byte("%%EOF")) {
			return File{}, damaged(field)
		}
		return File{Type: PDF}, nil
	case bytes.HasPrefix(data, pngSig):
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil || !pngChunksOK(data) {
			return File{}, damaged(field)
		}
		return checkImage(field, PNG, cfg)
	case bytes.HasPrefix(data, jpegSig):
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		// The end-of-image marker: a cut upload or a truncated save lacks
		// it. Cameras may append data after it, so it need not be last.
		if err != nil || !bytes.Contains(data[len(jpegSig):], []byte{0xFF, 0xD9}) {
			return File{}, damaged(field)
		}
		return checkImage(field, JPEG, cfg)
	}
	return File{}, wrongType(field)
}

func checkImage(field string, t Type, cfg image.Config) (File, error) {
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return File{}, damaged(field)
	}
	if cfg.Width > MaxSide || cfg.Height > MaxSide || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return File{}, refuse(field, "image_too_large",
			"Изображение слишком большое: не более 10 000 точек по каждой стороне и 50 мегапикселей. Уменьшите его.",
			"The image is too large: at most 10,000 pixels a side and 50 megapixels. Make it smaller.")
	}
	return File{Type: t, Width: cfg.Width, Height: cfg.Height}, nil
}

// pngChunksOK walks the chunks after the signature: each with a correct
// CRC, IHDR first, at least one IDAT, and IEND last with nothing after it
// (so no other file hides behind the image).
func pngChunksOK(data []byte) bool {
	p := data[len(pngSig):]
	first, idat := true, false
	for len(p) >= 12 {
		n := binary.BigEndian.Uint32(p)
		if n > uint32(len(p)-12) {
			return false
		}
		typ := string(p[4:8])
		body := p[4 : 8+n]
		if crc32.ChecksumIEEE(body) != binary.BigEndian.Uint32(p[8+n:]) {
			return false
		}
		if first && typ != "IHDR" {
			return false
		}
		first = false
		switch typ {
		case "IDAT":
			idat = true
		case "IEND":
			return idat && len(p) == int(12+n)
		}
		p = p[12+n:]
	}
	return false
}
