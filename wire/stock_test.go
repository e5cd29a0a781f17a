package wire

import (
	"github.com/katzenpost/hpqc/nike/x25519"
	hpqcrand "github.com/katzenpost/hpqc/rand"
	"github.com/katzenpost/katzenpost/core/sphinx"
)

// NewStockSphinx returns a Sphinx instance using hpqc's X25519 scheme, for
// compatibility tests.
func NewStockSphinx() *sphinx.Sphinx {
	return sphinx.NewNIKESphinx(x25519.Scheme(hpqcrand.Reader), Geometry)
}
