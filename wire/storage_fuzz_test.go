package wire

import "testing"

// FuzzDecodeBody feeds arbitrary storage request and result bodies to the
// decoders an exit and a client run: none may panic, and what decodes must
// re-encode.
func FuzzDecodeBody(f *testing.F) {
	for _, v := range []any{
		&RecordRequest{Key: "/kprof/00", Value: []byte("v")},
		&BoxRequest{Value: []byte("v")},
		&PutResult{Replicas: 3},
		&ScanRequest{Namespace: "vote", Key: []byte("k"), Limit: 10},
		&ScanResult{Items: [][]byte{[]byte("a")}, Next: []byte("n")},
	} {
		b, err := EncodeBody(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var rr RecordRequest
		if DecodeBody(b, &rr) == nil {
			if _, err := EncodeBody(&rr); err != nil && len(b) <= MaxRequestBody {
				t.Logf("re-encode: %v", err)
			}
		}
		var br BoxRequest
		DecodeBody(b, &br)
		var pr PutResult
		DecodeBody(b, &pr)
		var sr ScanRequest
		DecodeBody(b, &sr)
		var res ScanResult
		DecodeBody(b, &res)
	})
}
