package geo

import (
	"errors"
	"go/build"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/komrade-net/komrade/wire/setitem"
)

func TestAreaKey(t *testing.T) {
	if got := string(AreaKey(mustCell(t, "u4pruyd"))); got != "geohash:u4pruyd" {
		t.Errorf("AreaKey(u4pruyd) = %q", got)
	}
	if AreaKey(Cell{}) != nil {
		t.Error("the zero cell has a key")
	}
	longest := AreaKey(mustCell(t, "zzzzzzzzzzzz"))
	if len(longest) != MaxAreaKeySize || MaxAreaKeySize > setitem.MaxKeySize {
		t.Errorf("longest key %d bytes, MaxAreaKeySize %d, set keys up to %d", len(longest), MaxAreaKeySize, setitem.MaxKeySize)
	}
	// A key is a valid set key in the area namespace.
	it := setitem.Item{Namespace: "area", Key: longest, Body: []byte{1}, Expires: time.Now().Add(time.Hour).Unix()}
	if _, err := setitem.Encode(&it); err != nil {
		t.Errorf("an area item keyed by a cell: %v", err)
	}
	for _, s := range []string{"s", "u4pruyd", "zzzzzzzzzzzz"} {
		c := mustCell(t, s)
		if got, err := ParseAreaKey(AreaKey(c)); err != nil || got != c {
			t.Errorf("ParseAreaKey(AreaKey(%s)) = %v, %v", s, got, err)
		}
	}
	for _, k := range []string{"", "geohash:", "geohash:a", "geohash:U4", "GEOHASH:u4", "gh:u4", "u4pruyd",
		"geohash:u4pruydqqvjzz", "geohash:u4 ", " geohash:u4", "geohash:" + strings.Repeat("z", 100)} {
		if c, err := ParseAreaKey([]byte(k)); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseAreaKey(%q) = %v, %v; want ErrFormat", k, c, err)
		}
	}
}

// TestImportsStdlibOnly: clients and storage nodes both use the package,
// so it imports nothing of Komrade (nor any other module).
func TestImportsStdlibOnly(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkg.Imports) == 0 {
		t.Fatal("no imports found")
	}
	for _, imp := range pkg.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") {
			t.Errorf("geo imports %s; it must use the standard library only", imp)
		}
	}
	if !slices.Contains(pkg.Imports, "math") {
		t.Errorf("imports %v do not look like this package's", pkg.Imports)
	}
}
