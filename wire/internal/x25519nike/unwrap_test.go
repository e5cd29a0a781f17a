package x25519nike

import (
	"crypto/rand"
	"testing"

	"github.com/katzenpost/hpqc/nike"
	"github.com/katzenpost/katzenpost/core/sphinx"
	"github.com/katzenpost/katzenpost/core/sphinx/commands"
	"github.com/katzenpost/katzenpost/core/sphinx/geo"
)

var testGeo = geo.GeometryFromUserForwardPayloadLength(stockScheme, 2048, true, 5)

func benchUnwrap(b *testing.B, s nike.Scheme) {
	sph := sphinx.NewNIKESphinx(s, testGeo)
	pub, priv, _ := s.GenerateKeyPair()
	if p, ok := priv.(*PrivateKey); ok {
		p.Prepare()
	}
	path := make([]*sphinx.PathHop, 4)
	for i := range path {
		path[i] = &sphinx.PathHop{NIKEPublicKey: pub, Commands: []commands.RoutingCommand{&commands.NodeDelay{Delay: 1}}}
		rand.Read(path[i].ID[:])
	}
	const pool = 64
	pkts := make([][]byte, pool)
	for i := range pkts {
		pkts[i], _ = sph.NewPacket(rand.Reader, path, make([]byte, testGeo.ForwardPayloadLength))
	}
	buf := make([]byte, len(pkts[0]))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(buf, pkts[i%pool])
		if _, _, _, err := sph.Unwrap(priv, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnwrapOurs(b *testing.B)  { benchUnwrap(b, Scheme{}) }
func BenchmarkUnwrapStock(b *testing.B) { benchUnwrap(b, stockScheme) }
