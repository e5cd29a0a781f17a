package messenger

import (
	"strings"
	"testing"

	"github.com/komrade-net/komrade/internal/detcbor"
)

// TestProfileBodyLimits: a body with every social field at its limit
// decodes, fits a record, and each field one past its limit is refused.
func TestProfileBodyLimits(t *testing.T) {
	full := ProfileBody{Name: strings.Repeat("n", MaxNameLen), Intro: make([]byte, 32), DH: make([]byte, 32),
		Bio: strings.Repeat("б", MaxBioLen/2), Photo: make([]byte, MaxPhotoRef), Recent: make([][32]byte, MaxRecent), Visibility: MaxVisibility}
	b, err := detcbor.Marshal(&full)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > MaxProfileBody {
		t.Fatalf("a body at the limits takes %d bytes, more than %d", len(b), MaxProfileBody)
	}
	got, err := DecodeProfileBody(b)
	if err != nil || got.Bio != full.Bio || len(got.Recent) != MaxRecent || got.Visibility != MaxVisibility {
		t.Fatalf("decode a body at the limits: %+v %v", got, err)
	}
	for name, mut := range map[string]func(*ProfileBody){
		"bio":        func(p *ProfileBody) { p.Bio = strings.Repeat("b", MaxBioLen+1) },
		"bio utf-8":  func(p *ProfileBody) { p.Bio = "\xff" },
		"photo":      func(p *ProfileBody) { p.Photo = make([]byte, MaxPhotoRef+1) },
		"recent":     func(p *ProfileBody) { p.Recent = make([][32]byte, MaxRecent+1) },
		"visibility": func(p *ProfileBody) { p.Visibility = MaxVisibility + 1 },
		"intro":      func(p *ProfileBody) { p.Intro = p.Intro[:31] },
	} {
		p := full
		mut(&p)
		b, err := detcbor.Marshal(&p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeProfileBody(b); err == nil {
			t.Errorf("%s past its limit: accepted", name)
		}
	}
	// A body of before the social fields still decodes.
	old, _ := detcbor.Marshal(&struct {
		Name  string `cbor:"1,keyasint"`
		Intro []byte `cbor:"2,keyasint"`
		DH    []byte `cbor:"3,keyasint"`
	}{"A", make([]byte, 32), make([]byte, 32)})
	if p, err := DecodeProfileBody(old); err != nil || p.Name != "A" {
		t.Fatalf("an old body: %+v %v", p, err)
	}
}
