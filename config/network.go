package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/komrade-net/komrade/internal/secretfile"
	"github.com/komrade-net/komrade/pki"
)

// NetworkFile is the name `komrade mixnode init` gives the network file in
// a node's data dir, and `komrade testnet` in its dir.
const NetworkFile = "network.toml"

// networkTOML is the TOML form of pki.Params: the network file.
type networkTOML struct {
	Version     int                `toml:"version"`
	Name        string             `toml:"name"`
	EpochLength Duration           `toml:"epoch_length"`
	Mu          Duration           `toml:"mu"`
	MaxDelay    Duration           `toml:"max_delay"`
	PoWBits     int                `toml:"pow_bits"`
	WorldShards int                `toml:"world_shards"`
	Sets        map[string]setTOML `toml:"sets"`
}

type setTOML struct {
	MaxItemSize    int      `toml:"max_item_size"`
	TTL            Duration `toml:"ttl"`
	PoWBits        int      `toml:"pow_bits"`
	Dedup          bool     `toml:"dedup"`
	MaxItemsPerKey int      `toml:"max_items_per_key"`
	// MaxItemsPerKeyPerHour is pki.SetParams.MaxItemsPerKeyPerHour.
	MaxItemsPerKeyPerHour int `toml:"max_items_per_key_per_hour"`
}

// LoadNetwork reads a network file: every parameter must be given (a
// missing one would silently become another network), unknown keys are
// errors, and invalid values are errors naming the parameter.
func LoadNetwork(path string) (pki.Params, error) {
	var n networkTOML
	b, err := os.ReadFile(path)
	if err != nil {
		return pki.Params{}, fmt.Errorf("read network file: %w", err)
	}
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&n)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return pki.Params{}, fmt.Errorf("%s: %s", path, parseErrorText(perr))
		}
		return pki.Params{}, fmt.Errorf("%s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return pki.Params{}, fmt.Errorf("%s: network: unknown key(s): %s", path, strings.Join(keys, ", "))
	}
	need := []string{"version", "name", "epoch_length", "mu", "max_delay", "pow_bits", "world_shards"}
	for _, ns := range slices.Sorted(maps.Keys(n.Sets)) {
		for _, k := range []string{"max_item_size", "ttl", "pow_bits", "dedup", "max_items_per_key", "max_items_per_key_per_hour"} {
			need = append(need, "sets."+ns+"."+k)
		}
	}
	for _, k := range need {
		if !md.IsDefined(strings.Split(k, ".")...) {
			return pki.Params{}, fmt.Errorf("%s: network: %s: missing (a network file gives every parameter)", path, k)
		}
	}
	if n.Version < 0 || n.Version > 255 {
		return pki.Params{}, fmt.Errorf("%s: network: version: %d", path, n.Version)
	}
	p := pki.Params{
		Version: uint8(n.Version), Name: n.Name,
		EpochLength: n.EpochLength.Duration, Mu: n.Mu.Duration, MaxDelay: n.MaxDelay.Duration,
		PoWBits: n.PoWBits, WorldShards: n.WorldShards, Sets: map[string]pki.SetParams{},
	}
	for ns, s := range n.Sets {
		p.Sets[ns] = pki.SetParams{MaxItemSize: s.MaxItemSize, TTL: s.TTL.Duration, PoWBits: s.PoWBits, Dedup: s.Dedup,
			MaxItemsPerKey: s.MaxItemsPerKey, MaxItemsPerKeyPerHour: s.MaxItemsPerKeyPerHour}
	}
	if err := p.Validate(); err != nil {
		return pki.Params{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// WriteNetwork writes p as a network file (mode 0600, atomically), with a
// comment giving its network id.
func WriteNetwork(path string, p pki.Params) error {
	if err := p.Validate(); err != nil {
		return err
	}
	n := networkTOML{
		Version: int(p.Version), Name: p.Name,
		EpochLength: D(p.EpochLength), Mu: D(p.Mu), MaxDelay: D(p.MaxDelay),
		PoWBits: p.PoWBits, WorldShards: p.WorldShards, Sets: map[string]setTOML{},
	}
	for ns, s := range p.Sets {
		n.Sets[ns] = setTOML{MaxItemSize: s.MaxItemSize, TTL: D(s.TTL), PoWBits: s.PoWBits, Dedup: s.Dedup,
			MaxItemsPerKey: s.MaxItemsPerKey, MaxItemsPerKeyPerHour: s.MaxItemsPerKeyPerHour}
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Komrade network parameters. Every node and client of a network uses\n"+
		"# this same file; its network id (SHA-256 of the parameters' CBOR encoding) is\n"+
		"# %s\n"+
		"# Changing any value makes another network: nodes then refuse each other.\n\n", p.ID())
	if err := toml.NewEncoder(&buf).Encode(n); err != nil {
		return fmt.Errorf("encode network file: %w", err)
	}
	return secretfile.Write(path, buf.Bytes())
}

// resolve makes a path given in a config file relative to that file's dir.
func resolve(configPath, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(configPath), p)
}
