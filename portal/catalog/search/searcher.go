package search

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosid/gosid/portal/catalog"
)

// Source is what a Searcher reads the catalogue from (catalog/store.Store).
type Source interface {
	// Version is the catalogue version, changed by every import.
	Version(ctx context.Context) (int64, error)
	// Snapshot is the version and every service, read together.
	Snapshot(ctx context.Context) (int64, []catalog.Service, error)
}

// CheckInterval is how often a Searcher reads the catalogue version at most.
const CheckInterval = time.Second

// Searcher answers searches from an index it keeps current with the
// catalogue.
type Searcher struct {
	src Source
	now func() time.Time
	log *slog.Logger

	mu      sync.Mutex   // held while checking and rebuilding
	checked atomic.Int64 // Unix nanoseconds of the last version check
	idx     atomic.Pointer[Index]
}

// NewSearcher returns a Searcher on src; the index is built on first use.
func NewSearcher(src Source, now func() time.Time, log *slog.Logger) *Searcher {
	return &Searcher{src: src, now: now, log: log}
}

// Search returns the services matching q, best first (Index.Search).
func (s *Searcher) Search(ctx context.Context, q Query) ([]Result, error) {
	ix, err := s.Index(ctx)
	if err != nil {
		return nil, err
	}
	return ix.Search(q), nil
}

// Index returns the current index: rebuilt when the catalogue version has
// changed, checked at most once per CheckInterval. While another request
// checks or rebuilds, the previous index answers. When the catalogue cannot
// be read, the previous index answers (the failure is logged, and the next
// check waits its interval); without one the error is returned.
func (s *Searcher) Index(ctx context.Context) (*Index, error) {
	ix := s.idx.Load()
	if ix != nil && s.checkedRecently() {
		return ix, nil
	}
	if !s.mu.TryLock() {
		if ix != nil {
			return ix, nil
		}
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	ix = s.idx.Load()
	if ix != nil && s.checkedRecently() {
		return ix, nil
	}
	// The check counts from before the version is read: a catalogue
	// changed while this refresh reads it is seen by the next check, not
	// hidden for an interval behind a check stamped after the read.
	began := s.now().UnixNano()
	next, err := s.refresh(ctx, ix)
	if err != nil {
		if ix == nil {
			return nil, err
		}
		s.checked.Store(began)
		s.log.Warn("catalogue search: keeping the previous index", "version", ix.Version(), "err", err)
		return ix, nil
	}
	s.checked.Store(began)
	s.idx.Store(next)
	return next, nil
}

func (s *Searcher) checkedRecently() bool {
	d := s.now().Sub(time.Unix(0, s.checked.Load()))
	return d >= 0 && d < CheckInterval
}

func (s *Searcher) refresh(ctx context.Context, ix *Index) (*Index, error) {
	if ix != nil {
		v, err := s.src.Version(ctx)
		if err != nil {
			return nil, fmt.Errorf("catalogue search: %w", err)
		}
		if v == ix.Version() {
			return ix, nil
		}
	}
	v, svcs, err := s.src.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalogue search: %w", err)
	}
	return Build(v, svcs), nil
}
