//go:build ignore

// gen.go writes src/ctidh{511,512,1024,2048}/ctidh*.go and their tests
// from gen/template.go.txt and gen/template_test.go.txt. Run it with
// `go run gen.go` in this directory.
package main

import (
	"fmt"
	"go/format"
	"log"
	"os"
	"path/filepath"
	"strings"
)

// Sizes from highctidh v1.0.2024092800: the public key is the Montgomery
// coefficient A (UINTBIG_LIMBS*8 bytes) and the private key is one int8
// exponent per prime (primes_num in primes.h).
type size struct{ bits, pub, primes int }

var sizes = []size{
	{511, 64, 74},
	{512, 64, 74},
	{1024, 128, 130},
	{2048, 256, 231},
}

func main() {
	for _, s := range sizes {
		write(s, "template.go.txt", "ctidh%d.go")
		write(s, "template_test.go.txt", "ctidh%d_test.go")
	}
}

func write(s size, template, name string) {
	tmpl, err := os.ReadFile(filepath.Join("gen", template))
	if err != nil {
		log.Fatal(err)
	}
	src := strings.NewReplacer(
		"PUBBYTES", fmt.Sprint(s.pub),
		"PRIMES", fmt.Sprint(s.primes),
		"BITS", fmt.Sprint(s.bits),
	).Replace(string(tmpl))
	out, err := format.Source([]byte(src))
	if err != nil {
		log.Fatal(err)
	}
	dir := filepath.Join("src", fmt.Sprintf("ctidh%d", s.bits))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf(name, s.bits)), out, 0o644); err != nil {
		log.Fatal(err)
	}
}
