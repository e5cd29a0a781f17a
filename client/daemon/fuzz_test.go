package daemon

import (
	"bytes"
	"net/http/httptest"
	"testing"
)

// FuzzAPIDecode feeds arbitrary request bodies to the local API's decoder
// with every request shape the daemon accepts: a bad body is a 400, never a
// panic.
func FuzzAPIDecode(f *testing.F) {
	f.Add([]byte(`{"name":"bob"}`))
	f.Add([]byte(`{"code":"komrade-invite:x","name":"alice"}`))
	f.Add([]byte(`{"to":"bob","text":"hi"}`))
	f.Add([]byte(`{"from":"bob"}`))
	f.Add([]byte(`{"to":"bob","text":"hi","wait":true}`))
	f.Add([]byte(`{"id":7}`))
	f.Add([]byte(`{"address":"00","name":"a","from":"b","note":"c"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		targets := []any{
			&struct{ Name string }{},
			&struct{ Code, Name string }{},
			&struct{ To, Text string }{},
			&struct{ From string }{},
			&struct {
				To, Text string
				Wait     bool
			}{},
			&struct{ ID uint64 }{},
			&struct{ ID, Name string }{},
			&struct{ Address, Name, From, Note string }{},
		}
		for _, v := range targets {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("POST", "/x", bytes.NewReader(body))
			if !decode(w, r, v) && w.Code != 400 {
				t.Fatalf("bad body answered %d", w.Code)
			}
		}
	})
}
