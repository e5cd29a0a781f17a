package mapview

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/komrade-net/komrade/internal/termsafe"
	"github.com/komrade-net/komrade/wire/geo"
)

var (
	centre = geo.Point{Lat: 52.52, Lon: 13.405}
	now    = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
)

// at is the point distM metres from centre at bearing.
func at(bearing, distM float64) geo.Point { return geo.Destination(centre, bearing, distM) }

func TestOffset(t *testing.T) {
	v := View{Center: centre, RadiusM: 2000}
	for _, c := range []struct {
		bearing, dist, east, north float64
	}{
		{0, 1000, 0, 1000}, {90, 1000, 1000, 0}, {180, 500, 0, -500}, {270, 250, -250, 0}, {45, 1000, 707.1, 707.1},
	} {
		e, n := v.Offset(at(c.bearing, c.dist))
		if math.Abs(e-c.east) > 0.5 || math.Abs(n-c.north) > 0.5 {
			t.Errorf("bearing %v, %v m: offset (%.1f, %.1f), want (%.1f, %.1f)", c.bearing, c.dist, e, n, c.east, c.north)
		}
	}
}

// grid finds the row and column of the first r in the map lines.
func grid(lines []string, r rune) (int, int, bool) {
	for row, l := range lines {
		for col, c := range []rune(l) {
			if c == r {
				return row, col, true
			}
		}
	}
	return 0, 0, false
}

var scaleRE = regexp.MustCompile(`^\|(-*)\| ([0-9.]+) (m|km)`)

// TestTerminalProjection: a marker 1 km north is drawn straight above the
// centre, one 1 km east to its right, each as many characters away as the
// map's scale (read from its scale bar) says.
func TestTerminalProjection(t *testing.T) {
	const W, H = 60, 24
	ms := []Marker{
		{ID: "n", Kind: KindPolice, At: at(0, 1000), Confirmed: true},
		{ID: "e", Kind: KindDanger, At: at(90, 1000), Confirmed: true},
		{ID: "s", Kind: KindMedic, At: at(180, 1500)},
		{ID: "far", Kind: KindWater, At: at(0, 50000)},
	}
	var b bytes.Buffer
	if err := Terminal(&b, View{Center: centre, RadiusM: 2000}, ms, W, H); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != H {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), H, out)
	}
	for i, l := range lines {
		if termsafe.Columns(l) > W {
			t.Fatalf("line %d is %d columns wide: %q", i, termsafe.Columns(l), l)
		}
	}
	scaleRow := -1
	for i, l := range lines {
		if scaleRE.MatchString(l) {
			scaleRow = i
			break
		}
	}
	if scaleRow < 0 {
		t.Fatalf("no scale bar:\n%s", out)
	}
	mapLines := lines[:scaleRow]
	mapH := len(mapLines)
	// The scale: a braille dot is square, the view's diameter fits the
	// shorter side.
	mPerDot := 2000 / (float64(min(2*W, 4*mapH)-1) / 2)
	mPerCol, mPerRow := 2*mPerDot, 4*mPerDot

	sm := scaleRE.FindStringSubmatch(lines[scaleRow])
	cols := len(sm[1]) + 2
	val, _ := strconv.ParseFloat(sm[2], 64)
	if sm[3] == "km" {
		val *= 1000
	}
	if math.Abs(float64(cols)*mPerCol-val) > mPerCol {
		t.Errorf("scale bar of %d columns (%.0f m) labelled %.0f m", cols, float64(cols)*mPerCol, val)
	}
	if mant := val / math.Pow(10, math.Floor(math.Log10(val))); mant != 1 && mant != 2 && mant != 5 {
		t.Errorf("scale value %v is not round", val)
	}

	cr, cc, ok := grid(mapLines, '+')
	if !ok {
		t.Fatalf("no centre:\n%s", out)
	}
	nr, nc, ok := grid(mapLines, 'P')
	if !ok {
		t.Fatalf("no confirmed police marker:\n%s", out)
	}
	if nc != cc || nr >= cr || math.Abs(float64(cr-nr)*mPerRow-1000) > mPerRow {
		t.Errorf("1 km north drawn at row %d col %d; centre row %d col %d (%.0f m per row)", nr, nc, cr, cc, mPerRow)
	}
	er, ec, ok := grid(mapLines, 'D')
	if !ok {
		t.Fatalf("no danger marker:\n%s", out)
	}
	if er != cr || ec <= cc || math.Abs(float64(ec-cc)*mPerCol-1000) > mPerCol {
		t.Errorf("1 km east drawn at row %d col %d; centre row %d col %d (%.0f m per column)", er, ec, cr, cc, mPerCol)
	}
	// Unconfirmed: a small letter, below the centre.
	if sr, sc, ok := grid(mapLines, 'm'); !ok || sr <= cr || sc != cc {
		t.Errorf("unconfirmed medic 1.5 km south at %d,%d (ok %v); centre %d,%d", sr, sc, ok, cr, cc)
	}
	if _, _, ok := grid(mapLines, 'M'); ok {
		t.Error("unconfirmed medic drawn as confirmed")
	}
	if _, _, ok := grid(mapLines, 'w'); ok || !strings.Contains(lines[scaleRow], "1 beyond the map") {
		t.Errorf("the far marker is not counted beyond the map: %q", lines[scaleRow])
	}
	if r, c, ok := grid(mapLines, 'N'); !ok || r != 1 || c != 0 || []rune(mapLines[0])[0] != '^' {
		t.Errorf("no north arrow at the top left:\n%s", out)
	}
	legend := strings.Join(lines[scaleRow+1:], " ")
	for _, item := range legendItems {
		if !strings.Contains(legend, item) {
			t.Errorf("legend lacks %q: %q", item, legend)
		}
	}
	// The view's circle is drawn in braille.
	if !strings.ContainsFunc(out, func(r rune) bool { return r > 0x2800 && r <= 0x28FF }) {
		t.Error("no braille in the map")
	}
}

func TestTerminalSmallAndCrowded(t *testing.T) {
	v := View{Center: centre, RadiusM: 1000}
	ms := []Marker{
		{Kind: KindPolice, At: at(10, 300), Confirmed: true},
		{Kind: KindDanger, At: at(10, 301), Confirmed: true},
		{Kind: KindAlert, At: at(200, 400), RadiusM: 300},
		{Kind: "rocket", At: at(100, 600)},
		{Kind: KindWater, At: geo.Point{Lat: math.NaN()}},
		{Kind: KindAlert, At: at(0, 0), RadiusM: math.Inf(1)},
	}
	var b bytes.Buffer
	if err := Terminal(&b, v, ms, MinWidth, MinHeight); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Count(out, "\n") != MinHeight {
		t.Fatalf("not %d lines:\n%s", MinHeight, out)
	}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if termsafe.Columns(l) > MinWidth {
			t.Fatalf("line too wide: %q", l)
		}
	}
	b.Reset()
	if err := Terminal(&b, v, ms, 80, 30); err != nil {
		t.Fatal(err)
	}
	out = b.String()
	for _, want := range []string{"*", "A", "?", "2 skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("map lacks %q:\n%s", want, out)
		}
	}
	if err := Terminal(io.Discard, v, nil, MinWidth-1, 30); !errors.Is(err, errNoRoom) {
		t.Errorf("too narrow: %v", err)
	}
	if err := Terminal(io.Discard, View{Center: centre, RadiusM: math.NaN()}, nil, 80, 30); err == nil {
		t.Error("NaN radius accepted")
	}
}

func TestList(t *testing.T) {
	v := View{Center: centre, RadiusM: 5000}
	ms := []Marker{
		{ID: "far", Kind: KindDanger, At: at(45, 2500), Age: 90 * time.Minute, Expires: now.Add(30 * time.Minute), Confirmations: 3, Confirmed: true, Note: "tear gas"},
		{ID: "near", Kind: KindPolice, At: at(0, 1000), Age: 5 * time.Minute, Expires: now.Add(55 * time.Minute), Confirmations: 1,
			Note: "line\n[12:00] X fake row\x1b[2J\u202e"},
		{ID: "alert1", Kind: KindAlert, At: at(180, 4000), RadiusM: 2000, Age: 2 * time.Minute, Expires: now.Add(-time.Minute), Note: "march moved"},
		{ID: "bad", Kind: KindOther, At: geo.Point{Lat: 95}},
	}
	var b bytes.Buffer
	if err := List(&b, v, ms, now, 0); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	for _, c := range []struct {
		line int
		want []string
	}{
		{0, []string{"A alert", "4.0 km", "S ", "180°", "radius 2 km", "expired", "alert1", "march moved"}},
		{1, []string{"p police", "1.0 km", "N ", "000°", "5m ago", "1 conf, unconfirmed", "expires in 55m", "near", `line\u000a[12:00]`, `\u001b[2J`, `\u202e`}},
		{2, []string{"D danger", "2.5 km", "NE", "045°", "1h30m ago", "3 conf, confirmed", "expires in 30m", "far", "tear gas"}},
		{3, []string{"1 skipped"}},
	} {
		for _, w := range c.want {
			if !strings.Contains(lines[c.line], w) {
				t.Errorf("line %d %q lacks %q", c.line, lines[c.line], w)
			}
		}
	}
	for _, r := range b.String() {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)) {
			t.Fatalf("control %U in the list", r)
		}
	}
	b.Reset()
	if err := List(&b, v, ms, now, 40); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if termsafe.Columns(l) > 40 {
			t.Errorf("line wider than 40: %q", l)
		}
	}
	// On a terminal an alert with a real (64-digit) id keeps all its
	// text: the id is cut to the prefix pin confirm takes, and a text that
	// does not fit beside the rest goes below it, wrapped.
	id := strings.Repeat("60a67bbc", 8)
	long := strings.Repeat("kettle at the north bridge, ", 5) + "go south"
	alert := []Marker{
		{ID: id, Kind: KindAlert, At: at(315, 45), RadiusM: 1000, Expires: now.Add(time.Hour), Note: "water cannon"},
		{ID: id, Kind: KindAlert, At: at(315, 45), RadiusM: 1000, Expires: now.Add(time.Hour), Note: long},
	}
	b.Reset()
	if err := List(&b, v, alert, now, 120); err != nil {
		t.Fatal(err)
	}
	lines = strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if !strings.HasSuffix(lines[0], id[:ShortID]+"  water cannon") || strings.Contains(b.String(), id) {
		t.Errorf("short alert at 120 columns: %q", lines[0])
	}
	if len(lines) < 4 || !strings.HasSuffix(lines[1], id[:ShortID]) {
		t.Fatalf("long alert at 120 columns: the text should follow on lines of its own:\n%s", b.String())
	}
	var text string
	for _, l := range lines[2:] {
		if !strings.HasPrefix(l, "    ") {
			t.Errorf("continuation not indented: %q", l)
		}
		text += strings.TrimPrefix(l, "    ")
	}
	if text != long {
		t.Errorf("long alert's text, wrapped: %q, want %q", text, long)
	}
	for _, l := range lines {
		if termsafe.Columns(l) > 120 {
			t.Errorf("line wider than 120: %q", l)
		}
	}
	b.Reset()
	if err := List(&b, v, alert, now, 0); err != nil || !strings.Contains(b.String(), id) {
		t.Errorf("without a width the full id: %v %q", err, b.String())
	}
}

// TestGeoJSON parses the output and checks RFC 7946's rules.
func TestGeoJSON(t *testing.T) {
	ms := []Marker{
		{ID: "p1", Kind: KindPolice, At: geo.Point{Lat: 52.5200001, Lon: 13.4050004}, Note: `"quoted" </script>`, Age: time.Minute, Expires: now, Confirmations: 2, Confirmed: true},
		{ID: "a1", Kind: KindAlert, At: geo.Point{Lat: -33.9, Lon: -179.999}, RadiusM: 1500, Note: "alert text"},
		{ID: "bad", Kind: KindOther, At: geo.Point{Lat: 91}},
	}
	var b bytes.Buffer
	if err := GeoJSON(&b, ms); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	checkGeoJSON(t, doc)
	feats := doc["features"].([]any)
	if len(feats) != 2 {
		t.Fatalf("%d features, want 2 (the invalid one left out)", len(feats))
	}
	f0 := feats[0].(map[string]any)
	coords := f0["geometry"].(map[string]any)["coordinates"].([]any)
	if coords[0].(float64) != 13.405 || coords[1].(float64) != 52.52 {
		t.Errorf("coordinates %v, want [13.405, 52.52] (lon, lat, 6 decimals)", coords)
	}
	p := f0["properties"].(map[string]any)
	if p["kind"] != "police" || p["note"] != `"quoted" </script>` || p["confirmations"].(float64) != 2 || p["confirmed"] != true ||
		p["age_seconds"].(float64) != 60 || p["expires"] != "2026-05-01T12:00:00Z" || f0["id"] != "p1" {
		t.Errorf("properties %v id %v", p, f0["id"])
	}
	p1 := feats[1].(map[string]any)["properties"].(map[string]any)
	if p1["kind"] != "alert" || p1["radius_m"].(float64) != 1500 {
		t.Errorf("alert properties %v", p1)
	}
	if _, ok := p1["confirmed"]; ok {
		t.Error("an alert has confirmations")
	}
	// No markers: an empty array, not null.
	b.Reset()
	if err := GeoJSON(&b, nil); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	checkGeoJSON(t, doc)
}

// checkGeoJSON checks a parsed document against RFC 7946 for what GeoJSON
// writes: a FeatureCollection (3.3) whose "features" is an array of
// Features (3.2) each with "geometry" a Point (3.1.2) of one position of
// two numbers, longitude first, within range (3.1.1, 4: WGS 84), and
// "properties" an object; "id" a string or number; no "crs" (4: removed),
// no foreign "type" values.
func checkGeoJSON(t *testing.T, doc map[string]any) {
	t.Helper()
	if doc["type"] != "FeatureCollection" {
		t.Fatalf("type %v", doc["type"])
	}
	if _, ok := doc["crs"]; ok {
		t.Error("crs member present")
	}
	feats, ok := doc["features"].([]any)
	if !ok {
		t.Fatalf("features is %T, want an array", doc["features"])
	}
	for i, fv := range feats {
		f, ok := fv.(map[string]any)
		if !ok || f["type"] != "Feature" {
			t.Fatalf("feature %d: %v", i, fv)
		}
		if _, ok := f["crs"]; ok {
			t.Errorf("feature %d has crs", i)
		}
		switch f["id"].(type) {
		case nil, string, float64:
		default:
			t.Errorf("feature %d id of type %T", i, f["id"])
		}
		if _, ok := f["properties"].(map[string]any); !ok && f["properties"] != nil {
			t.Errorf("feature %d properties %T", i, f["properties"])
		}
		g, ok := f["geometry"].(map[string]any)
		if !ok || g["type"] != "Point" {
			t.Fatalf("feature %d geometry %v", i, f["geometry"])
		}
		if _, ok := g["crs"]; ok {
			t.Errorf("feature %d geometry has crs", i)
		}
		c, ok := g["coordinates"].([]any)
		if !ok || len(c) != 2 {
			t.Fatalf("feature %d coordinates %v", i, g["coordinates"])
		}
		lon, ok1 := c[0].(float64)
		lat, ok2 := c[1].(float64)
		if !ok1 || !ok2 || lon < -180 || lon > 180 || lat < -90 || lat > 90 {
			t.Errorf("feature %d position %v out of range or not numbers", i, c)
		}
	}
}

// xssNotes are notes that try to break out of the SVG's text.
var xssNotes = []string{
	`<script>alert(1)</script>`,
	`</title><script>alert(1)</script><title>`,
	`"><svg onload=alert(1)>`,
	`<img src=x onerror=alert(1)>`,
	`]]><foreignObject><a href="javascript:alert(1)">x</a></foreignObject>`,
	`<![CDATA[<script>alert(1)</script>]]>`,
	"&lt;script&gt; \x00\x1b\ufffe &amp;",
	`<!-- --><use href="https://evil.example/x.svg#a"/>`,
}

// allowedSVG are the elements SVG writes.
var allowedSVG = map[string]bool{"svg": true, "title": true, "rect": true, "g": true, "line": true, "circle": true, "text": true, "path": true}

// checkSVG parses out as XML and checks that it holds only SVG's own
// elements and attributes: no scripts, no event handlers, no references
// out. It returns the text of every title.
func checkSVG(t *testing.T, out []byte) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(out))
	d.Strict = true
	var titles []string
	var inTitle bool
	var cur strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, out)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if !allowedSVG[tk.Name.Local] || tk.Name.Space != "http://www.w3.org/2000/svg" {
				t.Fatalf("element %v in the SVG", tk.Name)
			}
			for _, a := range tk.Attr {
				n := strings.ToLower(a.Name.Local)
				if strings.HasPrefix(n, "on") || n == "href" || n == "style" || n == "src" || strings.Contains(strings.ToLower(a.Value), "url(") ||
					strings.Contains(strings.ToLower(a.Value), "javascript") || (a.Name.Space != "" && a.Name.Local != "xmlns") {
					t.Fatalf("attribute %v=%q in the SVG", a.Name, a.Value)
				}
			}
			if tk.Name.Local == "title" {
				inTitle = true
				cur.Reset()
			}
		case xml.EndElement:
			if tk.Name.Local == "title" {
				inTitle = false
				titles = append(titles, cur.String())
			}
		case xml.CharData:
			if inTitle {
				cur.Write(tk)
			}
		case xml.ProcInst, xml.Directive:
			t.Fatalf("%T in the SVG", tk)
		}
	}
	return titles
}

// TestSVGEscapes: notes that are markup come out as text of their title,
// and the document holds nothing else than what SVG writes.
func TestSVGEscapes(t *testing.T) {
	var ms []Marker
	for i, n := range xssNotes {
		ms = append(ms, Marker{ID: n, Kind: KindDanger, At: at(float64(i*40), 300), Note: n})
	}
	var b bytes.Buffer
	if err := SVG(&b, View{Center: centre, RadiusM: 1000}, ms); err != nil {
		t.Fatal(err)
	}
	titles := strings.Join(checkSVG(t, b.Bytes()), "\n")
	for _, n := range xssNotes {
		// Characters XML cannot hold become U+FFFD; the rest comes back as
		// the very text.
		want := strings.Map(func(r rune) rune {
			if r == 0 || r == 0x1b || r == 0xfffe {
				return '\ufffd'
			}
			return r
		}, n)
		if !strings.Contains(titles, want) {
			t.Errorf("note %q not found as text in the titles:\n%s", n, titles)
		}
	}
	if bytes.Contains(b.Bytes(), []byte("<script")) || bytes.Contains(b.Bytes(), []byte("<img")) {
		t.Fatalf("markup of a note in the SVG:\n%s", b.String())
	}
}

var (
	circleRE = regexp.MustCompile(`<circle cx="([0-9.]+)" cy="([0-9.]+)" r="11" fill="([^"]+)"`)
	barRE    = regexp.MustCompile(`<path d="M[0-9.]+ [0-9.]+v-8M[0-9.]+ [0-9.]+h([0-9.]+)M`)
	barText  = regexp.MustCompile(`<text [^>]*font-size="14">([0-9.]+) (m|km)</text>`)
)

// TestSVGProjection: 1 km north is straight above the centre, 1 km east
// to its right, at the scale the scale bar shows.
func TestSVGProjection(t *testing.T) {
	ms := []Marker{
		{Kind: KindPolice, At: at(0, 1000), Confirmed: true},
		{Kind: KindDanger, At: at(90, 1000)},
		{Kind: KindWater, At: at(0, 9000)},
	}
	var b bytes.Buffer
	if err := SVG(&b, View{Center: centre, RadiusM: 2000}, ms); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	checkSVG(t, b.Bytes())
	bm := barRE.FindStringSubmatch(out)
	tm := barText.FindStringSubmatch(out)
	if bm == nil || tm == nil {
		t.Fatalf("no scale bar:\n%s", out)
	}
	barPx, _ := strconv.ParseFloat(bm[1], 64)
	barM, _ := strconv.ParseFloat(tm[1], 64)
	if tm[2] == "km" {
		barM *= 1000
	}
	pxPerM := barPx / barM
	cs := circleRE.FindAllStringSubmatch(out, -1)
	if len(cs) != 2 || !strings.Contains(out, "1 beyond the map") {
		t.Fatalf("%d markers drawn, want 2 and one beyond:\n%s", len(cs), out)
	}
	pos := func(i int) (float64, float64) {
		x, _ := strconv.ParseFloat(cs[i][1], 64)
		y, _ := strconv.ParseFloat(cs[i][2], 64)
		return x, y
	}
	x, y := pos(0)
	if math.Abs(x-svgSize/2) > 0.2 || math.Abs(svgSize/2-y-1000*pxPerM) > 0.5 {
		t.Errorf("1 km north at (%v, %v), centre (320, 320), %.4f px/m", x, y, pxPerM)
	}
	x, y = pos(1)
	if math.Abs(y-svgSize/2) > 0.2 || math.Abs(x-svgSize/2-1000*pxPerM) > 0.5 {
		t.Errorf("1 km east at (%v, %v), %.4f px/m", x, y, pxPerM)
	}
	// Confirmed: filled with the kind's colour; unconfirmed: hollow.
	if cs[0][3] != kindColour[KindPolice] || cs[1][3] != "#ffffff" {
		t.Errorf("fills %q %q", cs[0][3], cs[1][3])
	}
}

// FuzzSVG: whatever a marker holds, the SVG is well-formed and holds only
// SVG's own markup, the GeoJSON parses and keeps to RFC 7946, and the
// terminal renderers emit nothing a terminal acts on.
func FuzzSVG(f *testing.F) {
	f.Add(xssNotes[1], xssNotes[2], 52.5, 13.4, 1500.0, 300.0)
	f.Fuzz(func(t *testing.T, id, note string, lat, lon, radius, alertR float64) {
		v := View{Center: centre, RadiusM: radius}
		ms := []Marker{
			{ID: id, Kind: KindPolice, At: geo.Point{Lat: lat, Lon: lon}, Note: note},
			{ID: note, Kind: KindAlert, At: geo.Point{Lat: lat, Lon: lon}, Note: id, RadiusM: alertR},
			{ID: id, Kind: note, At: centre, Note: note},
		}
		var b bytes.Buffer
		if err := SVG(&b, v, ms); err == nil {
			checkSVG(t, b.Bytes())
		} else if v.Validate() == nil {
			t.Fatalf("SVG: %v", err)
		}
		b.Reset()
		if err := GeoJSON(&b, ms); err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		checkGeoJSON(t, doc)
		b.Reset()
		Terminal(&b, v, ms, 40, 12)
		List(&b, v, ms, now, 60)
		for _, r := range b.String() {
			if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)) {
				t.Fatalf("control %U in the terminal output", r)
			}
		}
	})
}
