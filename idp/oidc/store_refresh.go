package oidc

import (
	"context"
	"errors"
	"log/slog"
)

// The refresh grant's policy, in two steps as op asks for a refresh: the
// presented token is read (presentRefresh), then, once op has checked the
// client and the scopes, rotated (refresh). A refresh token is rotated
// once. A retry within the grace (the answer to the first attempt was
// lost, or the retry raced it) gets the same successor; any other use of
// a rotated token is reuse, and the store revokes the token's family (its
// refresh tokens and its access tokens) before it answers
// errRefreshReused.

// presentedRefresh is a refresh token presented to the refresh grant, as
// read: its grant, the hash it is stored under, and, when it was rotated
// within the grace, the successor it was rotated to.
type presentedRefresh struct {
	RefreshToken
	hash      []byte
	successor string
}

// LogValue keeps the successor, a live refresh token, out of any log the
// refresh grant's request (refreshReq, which carries this into op) should
// ever reach.
func (p *presentedRefresh) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client", p.ClientID), slog.Bool("retry", p.successor != ""))
}

// presentRefresh reads a refresh token presented to the refresh grant: a
// current one, or one rotated within the grace (its successor set). One
// rotated before that is being reused: its family is revoked and the
// answer is errRefreshReused. An unknown, revoked or expired token is
// sqldb.ErrNotFound or sqldb.ErrExpired; any other error is a failure.
func (s *store) presentRefresh(ctx context.Context, token string) (*presentedRefresh, error) {
	rt, hash, err := s.refreshToken(ctx, s.db, token)
	var grace *graceError
	switch {
	case errors.As(err, &grace):
		return &presentedRefresh{RefreshToken: *rt, hash: hash, successor: grace.successor}, nil
	case errors.Is(err, errRefreshReused):
		s.revokeReused(ctx, rt.FamilyID)
		return nil, errRefreshReused
	case err != nil:
		return nil, err
	}
	return &presentedRefresh{RefreshToken: *rt, hash: hash}, nil
}

// refresh rotates p, as presentRefresh read it, to a successor of the
// same grant with scopes (op may have narrowed them), in one transaction
// that only one of racing rotations wins (rotate). A rotation that lost
// the race (to a retry of the same request, committed by now), like a
// token rotated within the grace when it was presented, yields the
// successor it was rotated to, as long as that successor is current
// itself; otherwise the token is being reused: the family is revoked and
// the answer is errRefreshReused. A token revoked, swept or expired
// meanwhile is sqldb.ErrNotFound or sqldb.ErrExpired. Any other error is
// a failure, an unknown commit outcome included: the retry finds the
// token rotated within the grace and gets the same successor.
func (s *store) refresh(ctx context.Context, p *presentedRefresh, scopes []string) (Issued, error) {
	successor := p.successor
	if successor == "" {
		next := p.RefreshToken
		next.Scopes = scopes
		token, err := s.rotate(ctx, p.hash, next, s.life.RefreshToken)
		if errors.Is(err, errLostRotation) {
			_, err = s.refreshTokenByHash(ctx, s.db, p.hash)
			if err == nil {
				// The rotation lost, yet the token reads current:
				// no successor to give; refused as reuse.
				err = errRefreshReused
			}
		}
		var grace *graceError
		switch {
		case err == nil:
			return Issued{FamilyID: p.FamilyID, RefreshToken: token, ClaimsRef: p.ClaimsRef}, nil
		case errors.As(err, &grace):
			successor = grace.successor
		case errors.Is(err, errRefreshReused):
			s.revokeReused(ctx, p.FamilyID)
			return Issued{}, errRefreshReused
		default:
			return Issued{}, err
		}
	}
	return s.sameSuccessor(ctx, p, successor)
}

// sameSuccessor answers a refresh of p, rotated less than the grace ago,
// with the successor it was rotated to, if that is still current. A
// successor rotated in turn means p is being reused: its family is
// revoked (errRefreshReused).
func (s *store) sameSuccessor(ctx context.Context, p *presentedRefresh, successor string) (Issued, error) {
	_, _, err := s.refreshToken(ctx, s.db, successor)
	switch {
	case err == nil:
		s.log.InfoContext(ctx, "refresh retried within the grace window; the same successor is returned", "client", p.ClientID)
		return Issued{FamilyID: p.FamilyID, RefreshToken: successor, ClaimsRef: p.ClaimsRef}, nil
	case errors.Is(err, errRefreshReused):
		s.revokeReused(ctx, p.FamilyID)
		return Issued{}, errRefreshReused
	}
	return Issued{}, err
}

// revokeReused revokes the family of a reused refresh token. The answer
// to the reuse is errRefreshReused whether or not the revocation failed
// (which is logged): the token is not honoured either way.
func (s *store) revokeReused(ctx context.Context, family string) {
	err := revokeFamily(ctx, s.db, family, s.now().Add(s.life.AccessToken))
	// Forgotten here even if the write failed: an answer the cache drops
	// is only read again.
	s.forgetTokens(family)
	if err != nil {
		s.log.ErrorContext(ctx, "revoke a reused refresh token's family", "err", err)
		return
	}
	s.log.WarnContext(ctx, "refresh token reused; its family is revoked")
}
