package messenger_test

import (
	"testing"

	"github.com/komrade-net/komrade/client/messenger"
)

// FuzzParseInvite: invite codes come from other people; a malformed one is
// an error, never a panic.
func FuzzParseInvite(f *testing.F) {
	f.Add("komrade-invite:pAFYIKvSe1s0CNIdfHc_6n-sNEuYbhg6SEryHioV9R9-OkxjAliIl")
	f.Add("komrade-invite:")
	f.Fuzz(func(t *testing.T, code string) {
		messenger.ParseInvite(code)
	})
}

// FuzzDecodeInboxEntry: entries of the local store's inbox.
func FuzzDecodeInboxEntry(f *testing.F) {
	f.Add([]byte{0x83, 0x61, 0x61, 0x61, 0x62, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		messenger.DecodeInboxEntry(b)
	})
}
