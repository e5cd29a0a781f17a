package client

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/seal"
)

// StateFile is the encrypted store in a client home directory.
const StateFile = "state.db"

// Identity is a user's long-term keys: Ed25519 to sign, X25519 to agree on
// keys. Both live only in the encrypted store.
type Identity struct {
	Sign ed25519.PrivateKey
	DH   *ecdh.PrivateKey
}

// Fingerprint is a short, readable digest of the public signing key that two
// people compare to verify each other (e.g. "3f2a 9c01 …", 8 groups).
func (id *Identity) Fingerprint() string { return Fingerprint(id.Sign.Public().(ed25519.PublicKey)) }

// Fingerprint formats the fingerprint of an Ed25519 public key.
func Fingerprint(pub ed25519.PublicKey) string {
	h := sha256.Sum256(append([]byte("komrade fingerprint v1\x00"), pub...))
	s := hex.EncodeToString(h[:16])
	var groups []string
	for i := 0; i < len(s); i += 4 {
		groups = append(groups, s[i:i+4])
	}
	return strings.Join(groups, " ")
}

// DefaultHome is the client's home directory: $XDG_CONFIG_HOME/komrade or
// the platform's equivalent.
func DefaultHome() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("client: no config directory: %w (use --home)", err)
	}
	return filepath.Join(d, "komrade"), nil
}

// Init creates a client home (0700) with a new identity in an encrypted
// store sealed by passphrase. It refuses to overwrite an existing one.
func Init(home string, passphrase []byte) (*Identity, error) {
	return initWith(home, passphrase, nil, seal.DefaultParams)
}

// InitDuress is Init with a duress passphrase: given at unlock instead of
// the passphrase, it destroys the store as `komrade panic` does, and the
// unlock fails as for a wrong passphrase (store.CreateWithDuress).
func InitDuress(home string, passphrase, duress []byte) (*Identity, error) {
	if len(duress) == 0 {
		return nil, errors.New("client: an empty duress passphrase")
	}
	return initWith(home, passphrase, duress, seal.DefaultParams)
}

func initWith(home string, passphrase, duress []byte, p seal.Params) (*Identity, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("client: an empty passphrase protects nothing")
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("client: home: %w", err)
	}
	st, err := store.CreateWithDuress(filepath.Join(home, StateFile), passphrase, duress, p)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	id, err := NewIdentity()
	if err != nil {
		return nil, err
	}
	err = st.Update(func(tx *store.Tx) error {
		if err := tx.Put("identity", "sign", id.Sign.Seed()); err != nil {
			return err
		}
		return tx.Put("identity", "dh", id.DH.Bytes())
	})
	if err != nil {
		return nil, fmt.Errorf("client: save identity: %w", err)
	}
	return id, nil
}

// OpenIdentity unlocks the identity of a client home with its passphrase.
func OpenIdentity(home string, passphrase []byte) (*Identity, error) {
	st, id, err := OpenHome(home, passphrase)
	if err != nil {
		return nil, err
	}
	st.Close()
	return id, nil
}

// OpenHome opens the encrypted store of a client home with its passphrase
// (one argon2id derivation) and reads the identity from it. The caller
// closes the store. The home's duress passphrase destroys the home (Panic)
// and fails with store.ErrWrongPassphrase.
func OpenHome(home string, passphrase []byte) (*store.Store, *Identity, error) {
	st, err := store.Open(filepath.Join(home, StateFile), passphrase)
	if errors.Is(err, store.ErrDuress) {
		// The store is destroyed; the log goes too. Whoever watches sees
		// a wrong passphrase.
		Panic(home, nil)
		return nil, nil, store.ErrWrongPassphrase
	}
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("client: no identity in %s: run `komrade init` first", home)
		}
		return nil, nil, err
	}
	var seed, dh []byte
	err = st.View(func(tx *store.Tx) error {
		var err error
		if seed, err = tx.Get("identity", "sign"); err != nil {
			return err
		}
		dh, err = tx.Get("identity", "dh")
		return err
	})
	if err != nil || len(seed) != ed25519.SeedSize {
		st.Close()
		return nil, nil, fmt.Errorf("client: identity damaged: %v", err)
	}
	dk, err := ecdh.X25519().NewPrivateKey(dh)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("client: identity damaged: %w", err)
	}
	return st, &Identity{Sign: ed25519.NewKeyFromSeed(seed), DH: dk}, nil
}

// NewIdentity generates a fresh identity that is not saved anywhere
// (tests, and Init).
func NewIdentity() (*Identity, error) {
	_, sign, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	dh, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &Identity{Sign: sign, DH: dh}, nil
}
