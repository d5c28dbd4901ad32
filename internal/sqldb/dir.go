package sqldb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// CheckWritableDir reports why dir (the embedded database's folder) is
// not an existing writable directory and could not be created either, or
// nil; it creates nothing.
func CheckWritableDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := abs; ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		switch {
		case err == nil && !st.IsDir():
			return fmt.Errorf("%s is not a directory", p)
		case err == nil:
			if err := syscall.Access(p, 2 /* W_OK */); err != nil {
				return fmt.Errorf("%s is not writable", p)
			}
			return nil
		case !errors.Is(err, os.ErrNotExist):
			return err
		}
		if p == filepath.Dir(p) {
			return fmt.Errorf("no existing parent directory")
		}
	}
}
