// Package highctidh is Komrade's stand-in for codeberg.org/vula/highctidh.
//
// # Why this module exists
//
// Komrade uses katzenpost's Sphinx (core/sphinx), whose geometry package
// imports hpqc's kem/schemes registry. That registry links every scheme
// hpqc knows, including CTIDH, and hpqc's CTIDH wraps the real highctidh:
// C code built through cgo with no pure-Go fallback, whose cgo flags use
// -march=native on amd64 (a binary may die with SIGILL on an older CPU).
// It makes a first build take minutes and rules out cross-compiling.
//
// Komrade never uses CTIDH. The go.work at the repository root replaces
// codeberg.org/vula/highctidh with this directory, so a build inside the
// repository needs no C compiler and cross-compiles with CGO_ENABLED=0.
//
// # What it provides
//
// The packages src/ctidh511, src/ctidh512, src/ctidh1024 and src/ctidh2048
// declare the same exported API as highctidh v1.0.2024092800 (the parts
// hpqc v0.0.70 uses and the rest of the package surface), with the same key
// sizes. Key bytes can be held, copied and compared, but nothing computes:
// every operation that needs the isogeny group (deriving a public key,
// generating keys, a group action, a shared secret, blinding, validating a
// public key) returns ErrNotBuilt where its signature has an error and
// otherwise panics with "CTIDH is not built into Komrade".
//
// go.mod carries no replace directive, because `go install ...@version`
// refuses one; that path ignores go.work and builds the real highctidh.
//
// The four packages are generated (with their tests) from gen/template*.go.txt by
// `go run gen.go` in this directory; edit the template, not the output.
package highctidh
