package passkey

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/sqldb"
)

// Defaults for Config's zero fields.
const (
	DefaultChallengeTTL   = 5 * time.Minute
	DefaultMaxCredentials = 20
	DefaultRPName         = "Gosid"
)

// Config is the relying party's identity and the ceremony limits.
type Config struct {
	// RPID is the WebAuthn relying-party ID: the host of the public URL.
	// An IP address cannot be one; the service is then unavailable.
	RPID string
	// RPName is shown by some authenticators ("Gosid").
	RPName string
	// Origins are the exact origins the browser may report: the public URL's.
	Origins []string
	// ChallengeTTL bounds a ceremony (5 min).
	ChallengeTTL time.Duration
	// MaxCredentials per account (20).
	MaxCredentials int
	// Now is the clock (time.Now).
	Now func() time.Time
}

// ConfigFromPublicURL derives RPID and Origins from the IdP's public URL
// (its OpenID issuer): RPID is the host name, the one origin is
// scheme://host[:port].
func ConfigFromPublicURL(publicURL string) (Config, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return Config{}, fmt.Errorf("passkey: public URL %q is not an absolute http(s) URL", publicURL)
	}
	host := strings.ToLower(u.Host)
	return Config{RPID: strings.ToLower(u.Hostname()), Origins: []string{u.Scheme + "://" + host}}, nil
}

// Storage keeps credentials and ceremony challenges; *Store implements it
// over the database, with the contracts its methods document (ConsumeChallenge
// is atomic, RecordUse a compare-and-swap).
type Storage interface {
	Add(ctx context.Context, c *Credential, limit int) error
	Get(ctx context.Context, id []byte) (*Credential, error)
	List(ctx context.Context, accountID string) ([]Credential, error)
	Rename(ctx context.Context, accountID string, id []byte, name string) error
	Remove(ctx context.Context, accountID string, id []byte) error
	RecordUse(ctx context.Context, id []byte, count uint32, backupState bool) error
	FlagClone(ctx context.Context, id []byte) error
	SaveChallenge(ctx context.Context, c Challenge) error
	ConsumeChallenge(ctx context.Context, hash []byte, purpose string) (*Challenge, error)
	Sweep(ctx context.Context) (int, error)
}

var _ Storage = (*Store)(nil)

// AccountGetter loads accounts.
type AccountGetter interface {
	Get(ctx context.Context, id string) (*account.Account, error)
}

// Service runs the WebAuthn ceremonies: registration, passwordless sign-in
// and the second-factor check. It keeps nothing in memory between the
// steps of a ceremony: challenges live in the database (Store).
type Service struct {
	cfg      Config
	wa       *webauthn.WebAuthn // nil when unavailable
	rpIDHash [32]byte
	store    Storage
	accounts AccountGetter
	log      *slog.Logger
}

// NewService returns the service. When cfg.RPID cannot be a WebAuthn RP ID
// (an IP address, e.g. --public-url http://127.0.0.1:8080) the service is
// built but unavailable (Available is false, every ceremony answers
// ErrUnavailable) and a warning is logged; use a host name such as
// localhost.
func NewService(cfg Config, store Storage, accounts AccountGetter, log *slog.Logger) (*Service, error) {
	if cfg.RPName == "" {
		cfg.RPName = DefaultRPName
	}
	if cfg.ChallengeTTL <= 0 {
		cfg.ChallengeTTL = DefaultChallengeTTL
	}
	if cfg.MaxCredentials <= 0 {
		cfg.MaxCredentials = DefaultMaxCredentials
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if store == nil || accounts == nil || log == nil {
		return nil, errors.New("passkey: store, accounts and log are required")
	}
	s := &Service{cfg: cfg, store: store, accounts: accounts, log: log}
	if err := protocol.ValidateRPID(cfg.RPID); err != nil {
		log.Warn("passkeys unavailable: the public URL's host cannot be a WebAuthn relying-party ID; use a host name (e.g. localhost)",
			"rp_id", cfg.RPID, "err", err)
		return s, nil
	}
	if len(cfg.Origins) == 0 {
		return nil, errors.New("passkey: no origins")
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPName,
		RPOrigins:             cfg.Origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		// The browser's timeout; the server's is the challenge's expiry,
		// judged by our own clock.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: cfg.ChallengeTTL, TimeoutUVD: cfg.ChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: cfg.ChallengeTTL, TimeoutUVD: cfg.ChallengeTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	s.wa = wa
	s.rpIDHash = sha256.Sum256([]byte(cfg.RPID))
	return s, nil
}

// Available reports whether passkeys work at this public URL.
func (s *Service) Available() bool { return s != nil && s.wa != nil }

// MaxCredentials is the per-account limit.
func (s *Service) MaxCredentials() int { return s.cfg.MaxCredentials }

// Store returns the credential store.
func (s *Service) Store() Storage { return s.store }

// Sweep deletes expired challenges.
func (s *Service) Sweep(ctx context.Context) (int, error) { return s.store.Sweep(ctx) }

// Kinds of credential, for the account page and the amr rule.
const (
	KindSynced      = "synced"       // backup eligible: a passkey synced through a cloud account
	KindDevice      = "device"       // device-bound passkey of a phone or computer
	KindSecurityKey = "security_key" // roaming hardware authenticator (USB, NFC, BLE)
)

// Kind classifies a credential: backup-eligible credentials are synced
// passkeys; others are security keys when the browser reported a
// cross-platform attachment and device-bound passkeys otherwise.
func Kind(backupEligible bool, attachment string) string {
	switch {
	case backupEligible:
		return KindSynced
	case attachment == string(protocol.CrossPlatform):
		return KindSecurityKey
	default:
		return KindDevice
	}
}

// AMR returns the RFC 8176 authentication methods of a verified assertion.
//
// The rule: "hwk" (hardware-secured key) only for a security key — a
// credential that is not backup eligible (its private key cannot leave the
// authenticator) on a cross-platform authenticator; "swk" for every other
// credential, that is synced passkeys (the key is copied through a cloud
// account) and platform passkeys (the key is held by the phone's or
// computer's operating system, whose hardware backing we cannot tell
// without attestation, which Gosid does not request). "user" is added when
// the authenticator verified the user (biometrics or PIN, the UV flag).
//
// attachment is the one the browser reported with the assertion, or the
// one stored at registration when the browser reported none. Without
// attestation all of this is what the client says, so "hwk" is a claim,
// not a proof.
func AMR(backupEligible bool, attachment string, userVerified bool) []string {
	amr := []string{"swk"}
	if Kind(backupEligible, attachment) == KindSecurityKey {
		amr[0] = "hwk"
	}
	if userVerified {
		amr = append(amr, "user")
	}
	return amr
}

// BeginRegistration starts adding a discoverable credential to the
// account: it stores the challenge and returns the
// PublicKeyCredentialCreationOptions as JSON ({"publicKey": {…}}), with
// residentKey and userVerification required and the account's credentials
// excluded.
func (s *Service) BeginRegistration(ctx context.Context, accountID string) (json.RawMessage, error) {
	if !s.Available() {
		return nil, ErrUnavailable
	}
	a, creds, err := s.accountAndCredentials(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if len(creds) >= s.cfg.MaxCredentials {
		return nil, ErrLimit.withf(s.cfg.MaxCredentials)
	}
	u := newUser(a, creds)
	creation, sd, err := s.wa.BeginRegistration(u, webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()))
	if err != nil {
		return nil, ErrInternal.with(err)
	}
	return s.saveChallenge(ctx, creation.Response.Challenge, PurposeRegister, accountID, sd, creation)
}

// FinishRegistration verifies the browser's response (the
// PublicKeyCredential as JSON) to the account's registration challenge and
// stores the credential named name, or «Ключ доступа N» ("Passkey N" for
// lang "en") when name is empty: VerifyRegistration, then Add to the
// service's store. On any error nothing is stored.
func (s *Service) FinishRegistration(ctx context.Context, accountID string, body []byte, name, lang string) (*Credential, error) {
	c, err := s.VerifyRegistration(ctx, accountID, body, name, lang)
	if err != nil {
		return nil, err
	}
	if err := s.Add(ctx, s.store, c); err != nil {
		return nil, err
	}
	return c, nil
}

// VerifyRegistration is FinishRegistration without the storing: it spends
// the challenge and returns the verified credential, named, for Add.
func (s *Service) VerifyRegistration(ctx context.Context, accountID string, body []byte, name, lang string) (*Credential, error) {
	if !s.Available() {
		return nil, ErrUnavailable
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return nil, ErrMalformed.with(err)
	}
	ch, sd, err := s.consume(ctx, parsed.Response.CollectedClientData.Challenge, PurposeRegister)
	if err != nil {
		return nil, err
	}
	if ch.AccountID != accountID {
		// Another account's challenge: as if unknown.
		return nil, ErrChallenge
	}
	if err := s.precheck(parsed.Response.CollectedClientData, parsed.Response.AttestationObject.AuthData, true); err != nil {
		return nil, err
	}
	if err := checkKeys(parsed); err != nil {
		return nil, err
	}
	a, creds, err := s.accountAndCredentials(ctx, accountID)
	if err != nil {
		return nil, err
	}
	wc, err := s.wa.CreateCredential(newUser(a, creds), *sd, parsed)
	if err != nil {
		return nil, ErrVerification.with(err)
	}
	if name == "" {
		name = defaultName(creds, lang)
	}
	c := &Credential{
		ID:             wc.ID,
		AccountID:      accountID,
		Name:           name,
		PublicKey:      wc.PublicKey,
		SignCount:      wc.Authenticator.SignCount,
		Transports:     transports(wc.Transport),
		AAGUID:         wc.Authenticator.AAGUID,
		Attachment:     string(wc.Authenticator.Attachment),
		Attestation:    wc.AttestationFormat,
		UserVerified:   wc.Flags.UserVerified,
		BackupEligible: wc.Flags.BackupEligible,
		BackupState:    wc.Flags.BackupState,
	}
	return c, nil
}

// Add stores c, a credential VerifyRegistration returned, in st: the
// service's store or it bound to a caller's transaction (Store.With), in
// which the credential's activity-log entry is written too. It keeps to
// the per-account limit; an *Error says why it did not store.
func (s *Service) Add(ctx context.Context, st Storage, c *Credential) error {
	switch err := st.Add(ctx, c, s.cfg.MaxCredentials); {
	case errors.Is(err, sqldb.ErrConflict):
		return ErrDuplicate.with(err)
	case errors.Is(err, ErrTooMany):
		return ErrLimit.withf(s.cfg.MaxCredentials)
	case err != nil:
		return ErrInternal.with(err)
	}
	return nil
}

// BeginLogin starts a discoverable (username-less) sign-in: empty
// allowCredentials, user verification required. It returns the
// PublicKeyCredentialRequestOptions as JSON ({"publicKey": {…}}); the
// browser may use them with or without conditional mediation.
func (s *Service) BeginLogin(ctx context.Context) (json.RawMessage, error) {
	if !s.Available() {
		return nil, ErrUnavailable
	}
	assertion, sd, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, ErrInternal.with(err)
	}
	return s.saveChallenge(ctx, assertion.Response.Challenge, PurposeLogin, "", sd, assertion)
}

// Result is a verified passwordless sign-in.
type Result struct {
	Account    *account.Account
	Credential *Credential
	// AMR are the methods to record in the session (see AMR).
	AMR []string
}

// FinishLogin verifies the browser's assertion (the PublicKeyCredential as
// JSON) against a sign-in challenge and the credential it names, which
// must belong to the account of the user handle. On error, the result
// may still name the credential (and its account), for the event log.
func (s *Service) FinishLogin(ctx context.Context, body []byte) (*Result, error) {
	if !s.Available() {
		return nil, ErrUnavailable
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return nil, ErrMalformed.with(err)
	}
	_, sd, err := s.consume(ctx, parsed.Response.CollectedClientData.Challenge, PurposeLogin)
	if err != nil {
		return nil, err
	}
	if err := s.precheck(parsed.Response.CollectedClientData, parsed.Response.AuthenticatorData, true); err != nil {
		return nil, err
	}
	cred, err := s.credential(ctx, parsed.RawID)
	if err != nil {
		return nil, err
	}
	res := &Result{Credential: cred}
	if !bytes.Equal(parsed.Response.UserHandle, userHandle(cred.AccountID)) {
		return res, ErrVerification.with(errors.New("user handle does not match the credential's account"))
	}
	u := &user{handle: userHandle(cred.AccountID), creds: []webauthn.Credential{cred.webauthn()}}
	_, wc, err := s.wa.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return u, nil }, *sd, parsed)
	if err != nil {
		return res, ErrVerification.with(err)
	}
	if err := s.recordUse(ctx, cred, wc, parsed); err != nil {
		return res, err
	}
	a, err := s.accounts.Get(ctx, cred.AccountID)
	if err != nil {
		return res, ErrInternal.with(err)
	}
	res.Account = a
	if a.Status == account.StatusBlocked {
		return res, ErrBlocked
	}
	res.AMR = AMR(parsed.Response.AuthenticatorData.Flags.HasBackupEligible(), attachment(parsed.AuthenticatorAttachment, cred),
		parsed.Response.AuthenticatorData.Flags.HasUserVerified())
	return res, nil
}

// BeginSecondFactor starts a check of one of the account's credentials
// after another factor (a password): allowCredentials lists the account's
// credentials (except those flagged as cloned), user verification is
// preferred. It returns the PublicKeyCredentialRequestOptions as JSON
// ({"publicKey": {…}}); errors.Is(err, ErrNoCredentials) when the account
// has none.
func (s *Service) BeginSecondFactor(ctx context.Context, accountID string) (json.RawMessage, error) {
	if !s.Available() {
		return nil, ErrUnavailable
	}
	creds, err := s.store.List(ctx, accountID)
	if err != nil {
		return nil, ErrInternal.with(err)
	}
	creds = slices.DeleteFunc(creds, func(c Credential) bool { return c.CloneWarning })
	if len(creds) == 0 {
		return nil, ErrNone.with(ErrNoCredentials)
	}
	u := newUser(nil, creds)
	u.handle = userHandle(accountID)
	assertion, sd, err := s.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, ErrInternal.with(err)
	}
	return s.saveChallenge(ctx, assertion.Response.Challenge, PurposeSecondFactor, accountID, sd, assertion)
}

// FinishSecondFactor verifies the browser's assertion against the
// account's second-factor challenge and returns the amr to add to the
// session: "hwk" or "swk", and "user" when the authenticator verified the
// user (see AMR).
func (s *Service) FinishSecondFactor(ctx context.Context, accountID string, body []byte) ([]string, error) {
	if !s.Available() {
		return nil, ErrUnavailable
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return nil, ErrMalformed.with(err)
	}
	ch, sd, err := s.consume(ctx, parsed.Response.CollectedClientData.Challenge, PurposeSecondFactor)
	if err != nil {
		return nil, err
	}
	if ch.AccountID != accountID {
		return nil, ErrChallenge
	}
	if err := s.precheck(parsed.Response.CollectedClientData, parsed.Response.AuthenticatorData, false); err != nil {
		return nil, err
	}
	cred, err := s.credential(ctx, parsed.RawID)
	if err != nil {
		return nil, err
	}
	if cred.AccountID != accountID {
		return nil, ErrUnknownCredential
	}
	creds, err := s.store.List(ctx, accountID)
	if err != nil {
		return nil, ErrInternal.with(err)
	}
	u := newUser(nil, creds)
	u.handle = userHandle(accountID)
	wc, err := s.wa.ValidateLogin(u, *sd, parsed)
	if err != nil {
		return nil, ErrVerification.with(err)
	}
	if err := s.recordUse(ctx, cred, wc, parsed); err != nil {
		return nil, err
	}
	return AMR(parsed.Response.AuthenticatorData.Flags.HasBackupEligible(), attachment(parsed.AuthenticatorAttachment, cred),
		parsed.Response.AuthenticatorData.Flags.HasUserVerified()), nil
}

// credential loads the credential an assertion names; a flagged one is
// refused.
func (s *Service) credential(ctx context.Context, id []byte) (*Credential, error) {
	cred, err := s.store.Get(ctx, id)
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil, ErrUnknownCredential
	}
	if err != nil {
		return nil, ErrInternal.with(err)
	}
	if cred.CloneWarning {
		return cred, ErrCloned
	}
	return cred, nil
}

// recordUse applies the signature-counter rule after a verified assertion:
// a counter that did not advance (go-webauthn's CloneWarning, or a
// concurrent use that got there first) flags the credential as possibly
// cloned, is logged, and refuses the assertion.
func (s *Service) recordUse(ctx context.Context, cred *Credential, wc *webauthn.Credential, parsed *protocol.ParsedCredentialAssertionData) error {
	count := parsed.Response.AuthenticatorData.Counter
	err := ErrCounter
	if !wc.Authenticator.CloneWarning {
		err = s.store.RecordUse(ctx, cred.ID, count, parsed.Response.AuthenticatorData.Flags.HasBackupState())
	}
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrCounter) {
		if errors.Is(err, sqldb.ErrNotFound) { // removed meanwhile
			return ErrUnknownCredential
		}
		return ErrInternal.with(err)
	}
	s.log.WarnContext(ctx, "passkey signature counter did not advance: credential possibly cloned, flagged and refused",
		"credential", *cred, "stored_count", cred.SignCount, "presented_count", count)
	if ferr := s.store.FlagClone(ctx, cred.ID); ferr != nil {
		s.log.ErrorContext(ctx, "flag cloned passkey", "credential", *cred, "err", ferr)
	}
	cred.CloneWarning = true
	return ErrCloned.with(err)
}

// precheck gives wrong origins, RP IDs and missing user verification their
// own clear errors before go-webauthn verifies everything (again).
func (s *Service) precheck(cd protocol.CollectedClientData, ad protocol.AuthenticatorData, requireUV bool) error {
	if !slices.Contains(s.cfg.Origins, cd.Origin) {
		return ErrOrigin.with(fmt.Errorf("origin %q", validate.Truncate(cd.Origin, 100)))
	}
	if !bytes.Equal(ad.RPIDHash, s.rpIDHash[:]) {
		return ErrRPID
	}
	if requireUV && !ad.Flags.HasUserVerified() {
		return ErrUserVerification
	}
	return nil
}

// maxRSABits bounds RSA keys: verification cost grows with the modulus, and
// a client may send any.
const maxRSABits = 4096

// checkKeys refuses, before any signature is verified with them, keys that
// would make verification expensive: an RSA credential key, or an RSA key
// of an attestation certificate, over maxRSABits, or more than 8
// certificates. (The stored key is used at every sign-in, so it is bounded
// here once.)
func checkKeys(parsed *protocol.ParsedCredentialCreationData) error {
	key, err := webauthncose.ParsePublicKey(parsed.Response.AttestationObject.AuthData.AttData.CredentialPublicKey)
	if err != nil {
		return ErrVerification.with(fmt.Errorf("credential public key: %w", err))
	}
	if r, ok := key.(webauthncose.RSAPublicKeyData); ok && new(big.Int).SetBytes(r.Modulus).BitLen() > maxRSABits {
		return ErrVerification.with(errors.New("credential RSA key too large"))
	}
	x5c, ok := parsed.Response.AttestationObject.AttStatement["x5c"].([]any)
	if !ok {
		return nil
	}
	if len(x5c) > 8 {
		return ErrVerification.with(errors.New("too many attestation certificates"))
	}
	for _, c := range x5c {
		der, ok := c.([]byte)
		if !ok {
			continue // go-webauthn refuses it
		}
		if cert, err := x509.ParseCertificate(der); err == nil {
			if pk, ok := cert.PublicKey.(*rsa.PublicKey); ok && pk.N.BitLen() > maxRSABits {
				return ErrVerification.with(errors.New("attestation certificate RSA key too large"))
			}
		}
	}
	return nil
}

// saveChallenge stores sd under the challenge's hash and returns options
// as JSON.
func (s *Service) saveChallenge(ctx context.Context, challenge []byte, purpose, accountID string, sd *webauthn.SessionData, options any) (json.RawMessage, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return nil, ErrInternal.with(err)
	}
	out, err := json.Marshal(options)
	if err != nil {
		return nil, ErrInternal.with(err)
	}
	h := sha256.Sum256(challenge)
	now := s.cfg.Now()
	err = s.store.SaveChallenge(ctx, Challenge{Hash: h[:], Purpose: purpose, AccountID: accountID, SessionData: data,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.ChallengeTTL)})
	if err != nil {
		return nil, ErrInternal.with(err)
	}
	return out, nil
}

// consume takes the challenge named by the client data out of the store.
func (s *Service) consume(ctx context.Context, challenge, purpose string) (*Challenge, *webauthn.SessionData, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(challenge, "="))
	if err != nil || len(raw) < protocol.MinimumChallengeLength || len(raw) > 256 {
		return nil, nil, ErrChallenge
	}
	h := sha256.Sum256(raw)
	ch, err := s.store.ConsumeChallenge(ctx, h[:], purpose)
	switch {
	case errors.Is(err, sqldb.ErrNotFound):
		return nil, nil, ErrChallenge
	case errors.Is(err, sqldb.ErrExpired):
		return nil, nil, ErrExpired
	case err != nil:
		return nil, nil, ErrInternal.with(err)
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(ch.SessionData, &sd); err != nil {
		return nil, nil, ErrInternal.with(fmt.Errorf("stored session data: %w", err))
	}
	return ch, &sd, nil
}

func (s *Service) accountAndCredentials(ctx context.Context, accountID string) (*account.Account, []Credential, error) {
	a, err := s.accounts.Get(ctx, accountID)
	if err != nil {
		return nil, nil, ErrInternal.with(err)
	}
	creds, err := s.store.List(ctx, accountID)
	if err != nil {
		return nil, nil, ErrInternal.with(err)
	}
	return a, creds, nil
}

// user is the account as go-webauthn sees it.
type user struct {
	handle        []byte
	name, display string
	creds         []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.handle }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.display }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// newUser describes a for the authenticator: the user name is what the
// citizen signs in with (e-mail, else phone), the display name the full
// name; both are shown in the browser's passkey picker.
func newUser(a *account.Account, creds []Credential) *user {
	u := &user{}
	if a != nil {
		u.handle = userHandle(a.ID)
		u.display = a.Name.Full()
		switch {
		case a.Email.Value != "":
			u.name = a.Email.Value
		case a.Phone.Value != "":
			u.name = a.Phone.Value
		default:
			u.name = u.display
		}
	}
	for _, c := range creds {
		u.creds = append(u.creds, c.webauthn())
	}
	return u
}

// userHandle is the WebAuthn user.id of an account: the 16 bytes of its
// UUID (no personal data; the same on every replica, so nothing needs to
// be stored).
func userHandle(accountID string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(accountID, "-", ""))
	if err != nil || len(b) != 16 {
		return []byte(accountID)
	}
	return b
}

// webauthn converts a stored credential for go-webauthn.
func (c *Credential) webauthn() webauthn.Credential {
	flags := protocol.FlagUserPresent
	if c.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	if c.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if c.BackupState {
		flags |= protocol.FlagBackupState
	}
	ts := make([]protocol.AuthenticatorTransport, len(c.Transports))
	for i, t := range c.Transports {
		ts[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:                c.ID,
		PublicKey:         c.PublicKey,
		AttestationFormat: c.Attestation,
		Transport:         ts,
		Flags:             webauthn.NewCredentialFlags(flags),
		Authenticator: webauthn.Authenticator{
			AAGUID:       c.AAGUID,
			SignCount:    c.SignCount,
			CloneWarning: c.CloneWarning,
			Attachment:   protocol.AuthenticatorAttachment(c.Attachment),
		},
	}
}

func attachment(reported protocol.AuthenticatorAttachment, c *Credential) string {
	if reported != "" {
		return string(reported)
	}
	return c.Attachment
}

var transportToken = regexp.MustCompile(`^[a-z][a-z0-9-]{0,15}$`)

// transports keeps at most 8 well-formed transport names of what the
// browser reported.
func transports(in []protocol.AuthenticatorTransport) []string {
	var out []string
	for _, t := range in {
		if transportToken.MatchString(string(t)) && !slices.Contains(out, string(t)) && len(out) < 8 {
			out = append(out, string(t))
		}
	}
	return out
}

// defaultName is «Ключ доступа N» with the first N not yet used.
func defaultName(creds []Credential, lang string) string {
	base := "Ключ доступа %d"
	if lang == "en" {
		base = "Passkey %d"
	}
	for n := len(creds) + 1; ; n++ {
		name := fmt.Sprintf(base, n)
		if !slices.ContainsFunc(creds, func(c Credential) bool { return c.Name == name }) {
			return name
		}
	}
}

// encodeID is the form a credential ID takes in pages and logs.
func encodeID(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// decodeID parses encodeID's form.
func decodeID(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return b, err == nil && len(b) > 0 && len(b) <= 1023
}
