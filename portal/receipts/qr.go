package receipts

import (
	"bytes"
	"errors"
	"image"
	"image/draw"
	"image/png"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
)

// ErrQRText is returned by QRPNG when text is empty or too long for a QR
// code.
var ErrQRText = errors.New("receipts: QR text empty or too long")

// ErrQRSize is returned by QRPNG when size is too small for the text's
// code (less than one pixel a module with the quiet zone).
var ErrQRSize = errors.New("receipts: QR image size too small for the text")

// quietModules is the white border around a QR code that scanners need
// (ISO/IEC 18004: four modules).
const quietModules = 4

// QRPNG renders text as a QR code (error correction M, which survives a
// crease or a smudge on a printed ticket) in a size×size greyscale PNG,
// the quiet zone included. Modules are whole pixels, so the code is as
// large as fits and centred; a size below the code's modules plus the
// quiet zone is ErrQRSize.
func QRPNG(text string, size int) ([]byte, error) {
	img, err := qrImage(text, size)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func qrImage(text string, size int) (*image.Gray, error) {
	if text == "" {
		return nil, ErrQRText
	}
	q, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		// The encoder's message quotes the text: a booking number must
		// not reach a log through it.
		return nil, ErrQRText
	}
	n := q.Bounds().Dx()
	scale := size / (n + 2*quietModules)
	if scale < 1 {
		return nil, ErrQRSize
	}
	side := scale * n
	if q, err = barcode.Scale(q, side, side); err != nil {
		return nil, err
	}
	img := image.NewGray(image.Rect(0, 0, size, size))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	off := (size - side) / 2
	draw.Draw(img, image.Rect(off, off, off+side, off+side), q, image.Point{}, draw.Src)
	return img, nil
}
