package portal

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/blob"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/keys/cms"
	"github.com/gosid/gosid/portal/auth"
)

// Setup is what the portal runs on, inside gosid serve or alone (gosid
// portal): the platform's pieces and the options that shape it.
type Setup struct {
	DB       *sqldb.DB
	Sealer   auth.Sealer
	Messages message.Sender
	// Issuer is the identity provider's; ClientID the portal's client
	// there, PortalURL the portal's own public URL.
	Issuer, ClientID, PortalURL string
	// Attachments is an s3:// URL (blob.ParseS3URL), or "" for files under
	// DataDir/attachments.
	DataDir, Attachments string
	Logger               *slog.Logger
	Now                  func() time.Time
	Jobs                 *jobs.Queue
	// Dev is development mode: the sandbox agency signs results, the
	// sandbox acquirer takes payments when Acquirer has no URL, pushes go
	// to the push stand-in, and no quiet hours hold messages.
	Dev bool
	// Signatures checks citizens' and agencies' e-signatures (nil: off).
	Signatures func(ctx context.Context, signature, content []byte) (*cms.Result, error)
	// Acquirer is the card acquirer's URL, merchant id, API key and
	// notification secret; Open fills in the rest of it from the above.
	Acquirer AcquirerSetup
}

// Open builds the portal: its client key, sign-in, catalogue (the default
// services seeded into an empty one), encrypted files, its secrets and the
// acquirer; and it adds the sweep of expired sign-ins and sessions to
// s.Jobs. The key is the portal's client key, which the identity provider
// must know (its JWKS).
func Open(ctx context.Context, s Setup) (*Handler, *auth.Key, error) {
	key, err := auth.LoadKey(ctx, s.DB, s.Sealer, s.Now())
	if err != nil {
		return nil, nil, err
	}
	a, err := auth.New(auth.Config{Issuer: s.Issuer, ClientID: s.ClientID, RedirectURL: s.PortalURL + auth.CallbackPath,
		PostLogoutURL: s.PortalURL + "/"}, auth.Deps{DB: s.DB, Sealer: s.Sealer, Key: key, Log: s.Logger, Now: s.Now})
	if err != nil {
		return nil, nil, err
	}
	var files blob.Store
	if s.Attachments != "" {
		c, err := blob.ParseS3URL(s.Attachments)
		if err == nil {
			files, err = blob.S3(c)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("attachments: %w", err)
		}
	} else if files, err = blob.Dir(filepath.Join(s.DataDir, "attachments")); err != nil {
		return nil, nil, err
	}
	// The attachments' and the codes' keys: random, sealed in the portal's
	// database (a master key rotation keeps them readable).
	fileKey, err := auth.LoadSecret(ctx, s.DB, s.Sealer, "attachments-1", s.Now())
	if err != nil {
		return nil, nil, err
	}
	codeKey, err := auth.LoadSecret(ctx, s.DB, s.Sealer, "codes", s.Now())
	if err != nil {
		return nil, nil, err
	}
	indexKey, err := auth.LoadSecret(ctx, s.DB, s.Sealer, "charges-index", s.Now())
	if err != nil {
		return nil, nil, err
	}
	acq := s.Acquirer
	acq.PortalURL, acq.Sandbox, acq.Logger, acq.Now = s.PortalURL, s.Dev, s.Logger, s.Now
	acqClient, acqSecret, acqSandbox, err := OpenAcquirer(acq)
	if err != nil {
		return nil, nil, err
	}
	keys := blob.StaticKeys{CurrentID: "attachments-1", Keys: map[string][]byte{"attachments-1": fileKey}}
	if err := Seed(ctx, s.DB); err != nil {
		return nil, nil, err
	}
	h, err := New(Config{IdPURL: s.Issuer, PortalURL: s.PortalURL, Auth: a, Secure: strings.HasPrefix(s.PortalURL, "https://"), Logger: s.Logger,
		DB: s.DB, Sealer: s.Sealer, Blobs: blob.Encrypted(files, keys), Messages: s.Messages, CodeKey: codeKey, Now: s.Now, Jobs: s.Jobs, Sandbox: s.Dev, Signatures: s.Signatures,
		IndexKey: indexKey, Acquirer: acqClient, AcquirerSecret: acqSecret, SandboxAcquirer: acqSandbox, QuietHours: !s.Dev, PushSandbox: s.Dev})
	if err == nil && s.Dev {
		err = SeedSandbox(ctx, h)
	}
	if err != nil {
		return nil, nil, err
	}
	// Expired sign-ins and sessions go every five minutes, on one replica.
	err = s.Jobs.AddPeriodic(jobs.Periodic{Name: "portal.sweep", Every: 5 * time.Minute, Run: func(ctx context.Context) (int, error) {
		n, err := a.Sweep(ctx)
		return int(n), err
	}})
	return h, key, err
}
