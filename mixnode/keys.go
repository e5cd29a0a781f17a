package mixnode

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/katzenpost/hpqc/nike"

	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/internal/seal"
	"github.com/komrade-net/komrade/internal/secretfile"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire"
)

// IdentityFile is the name of the identity key file in a node's data dir.
const IdentityFile = "identity.pem"

const (
	identityPEMType       = "KOMRADE NODE IDENTITY"
	sealedIdentityPEMType = "KOMRADE SEALED NODE IDENTITY"
)

// LoadIdentity reads the node's Ed25519 identity key from dataDir,
// decrypting it with passphrase if it was stored sealed. The file must not
// be readable by group or others.
func LoadIdentity(dataDir string, passphrase []byte) (ed25519.PrivateKey, error) {
	path := filepath.Join(dataDir, IdentityFile)
	b, err := secretfile.Read(path, "identity key")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (run `komrade mixnode init` first)", err)
	}
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("identity key %s: not a Komrade node identity", path)
	}
	seed := blk.Bytes
	switch blk.Type {
	case identityPEMType:
	case sealedIdentityPEMType:
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("identity key %s is encrypted: set passphrase_file in the config", path)
		}
		if seed, err = seal.Open(passphrase, blk.Bytes); err != nil {
			return nil, fmt.Errorf("identity key %s: %w", path, err)
		}
		defer clear(seed)
	default:
		return nil, fmt.Errorf("identity key %s: not a Komrade node identity", path)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("identity key %s: bad key size", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// CreateIdentity generates a new identity key in dataDir (created 0700 if
// missing), sealed with passphrase (argon2id, XChaCha20-Poly1305) unless the
// passphrase is empty. It refuses to overwrite an existing key.
func CreateIdentity(dataDir string, passphrase []byte) (ed25519.PrivateKey, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	path := filepath.Join(dataDir, IdentityFile)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	blk := &pem.Block{Type: identityPEMType, Bytes: priv.Seed()}
	if len(passphrase) > 0 {
		sealed, err := seal.Seal(passphrase, priv.Seed())
		if err != nil {
			return nil, err
		}
		blk = &pem.Block{Type: sealedIdentityPEMType, Bytes: sealed}
	}
	data := pem.EncodeToMemory(blk)
	// Created exclusively: of two inits racing, one fails.
	if err := secretfile.Create(path, data); err != nil {
		return nil, fmt.Errorf("identity key: %w", err)
	}
	return priv, nil
}

// NodeIDOf returns the node id of an identity key.
func NodeIDOf(priv ed25519.PrivateKey) pki.NodeID {
	var id pki.NodeID
	copy(id[:], priv.Public().(ed25519.PublicKey))
	return id
}

// epochKeys holds the node's Sphinx X25519 keys by epoch. They live only in
// memory: after a restart the node publishes fresh keys, and an erased key
// cannot be recovered from disk (forward secrecy of past epochs).
type epochKeys struct {
	mu   sync.RWMutex
	keys map[uint64]nike.PrivateKey
	pubs map[uint64][]byte
	// order is the live keys in the order unwrap tries them, rebuilt at
	// each rotation so that the per-packet path only loads it.
	order atomic.Pointer[[]liveKey]
}

type liveKey struct {
	epoch uint64
	priv  nike.PrivateKey
}

func newEpochKeys() *epochKeys {
	return &epochKeys{keys: map[uint64]nike.PrivateKey{}, pubs: map[uint64][]byte{}}
}

// rotate makes sure keys for cur and cur+1 exist and erases every key older
// than cur-1. It returns the epochs erased.
func (k *epochKeys) rotate(cur uint64) []uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, e := range []uint64{cur, cur + 1} {
		if _, ok := k.keys[e]; !ok {
			priv, pub, err := wire.NewEpochKey()
			if err != nil {
				panic(fmt.Sprintf("mixnode: generate epoch key: %v", err))
			}
			k.keys[e], k.pubs[e] = priv, pub
		}
	}
	var erased []uint64
	for e, priv := range k.keys {
		if e+1 < cur {
			priv.Reset()
			delete(k.keys, e)
			delete(k.pubs, e)
			erased = append(erased, e)
		}
	}
	// Current first, then next, then the previous: the order in which a
	// packet's key is most likely. (Between an epoch boundary and the
	// next rotation the order is one epoch behind: still every live key.)
	order := make([]liveKey, 0, len(k.keys))
	for _, e := range [2]uint64{cur, cur + 1} {
		order = append(order, liveKey{e, k.keys[e]})
	}
	for e, priv := range k.keys {
		if e != cur && e != cur+1 {
			order = append(order, liveKey{e, priv})
		}
	}
	k.order.Store(&order)
	return erased
}

// public returns the public key for epoch e.
func (k *epochKeys) public(e uint64) ([]byte, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	pub, ok := k.pubs[e]
	return pub, ok
}

// live returns the keys that may open packets now, in the order to try
// them (see rotate). It does not lock or allocate.
func (k *epochKeys) live() []liveKey {
	if o := k.order.Load(); o != nil {
		return *o
	}
	return nil
}

// ConfigFile is the name of the config file `komrade mixnode init` writes.
const ConfigFile = "komrade-node.toml"

// Init prepares a data dir for a new node: a fresh identity key (sealed with
// the passphrase in cfg.PassphraseFile, if set) and a config file (cfg with
// DataDir set to dataDir). It returns the config file's path and the node
// id. It refuses to overwrite an existing identity.
func Init(dataDir string, cfg config.Node) (string, pki.NodeID, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", pki.NodeID{}, err
	}
	cfg.DataDir = abs
	if err := cfg.Validate(); err != nil {
		return "", pki.NodeID{}, err
	}
	pass, err := ReadPassphrase(cfg.PassphraseFile)
	if err != nil {
		return "", pki.NodeID{}, err
	}
	priv, err := CreateIdentity(abs, pass)
	if err != nil {
		return "", pki.NodeID{}, err
	}
	// The network's parameters go in a file of their own, next to the
	// config: the same file on every node and client of the network.
	cfg.NetworkFile = config.NetworkFile
	if err := config.WriteNetwork(filepath.Join(abs, config.NetworkFile), cfg.Network); err != nil {
		return "", pki.NodeID{}, err
	}
	path := filepath.Join(abs, ConfigFile)
	if err := config.Write(path, cfg); err != nil {
		return "", pki.NodeID{}, err
	}
	return path, NodeIDOf(priv), nil
}

// ReadPassphrase reads a passphrase file (trailing newlines removed). An
// empty path means no passphrase. The file must not be readable by others.
func ReadPassphrase(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := secretfile.Read(path, "passphrase file")
	if err != nil {
		return nil, err
	}
	b = []byte(strings.TrimRight(string(b), "\r\n"))
	if len(b) == 0 {
		return nil, fmt.Errorf("passphrase file %s is empty", path)
	}
	return b, nil
}
