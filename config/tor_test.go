package config

import (
	"strings"
	"testing"
)

const testOnionGateway = "/onion3/2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid:7700/p2p/" + testPeerID

func TestClientTransport(t *testing.T) {
	for _, tc := range []struct {
		name, toml, wantErr string
	}{
		{"direct by default", `gateways = ["` + testBootstrap + `"]`, ""},
		{"direct", `gateways = ["` + testBootstrap + `"]` + "\ntransport = \"direct\"", ""},
		{"tor", `gateways = ["` + testOnionGateway + `"]` + "\ntransport = \"tor\"", ""},
		{"tor attached", `gateways = ["` + testOnionGateway + `"]` + "\ntransport = \"tor\"\ntor_socks = \"127.0.0.1:9050\"", ""},
		{"unknown transport", `gateways = ["` + testBootstrap + `"]` + "\ntransport = \"pigeon\"", "transport"},
		{"tor with a direct gateway", `gateways = ["` + testOnionGateway + `", "` + testBootstrap + `"]` + "\ntransport = \"tor\"", "gateways[1]"},
		{"onion gateway without tor", `gateways = ["` + testOnionGateway + `"]`, "gateways[0]"},
		{"bad tor_socks", `gateways = ["` + testOnionGateway + `"]` + "\ntransport = \"tor\"\ntor_socks = \"9050\"", "tor_socks"},
		{"tor_socks and tor_config", `gateways = ["` + testOnionGateway + `"]` + "\ntransport = \"tor\"\ntor_socks = \"127.0.0.1:9050\"\ntor_config = \"/etc/torrc\"", "tor_config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadClient(writeFile(t, tc.toml+"\n"))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("LoadClient: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("LoadClient: %v, want an error naming %s", err, tc.wantErr)
			}
		})
	}
}

func TestLoadClientTransport(t *testing.T) {
	path := writeFile(t, `gateways = ["`+testOnionGateway+`"]`+"\n")
	if _, err := LoadClient(path); err == nil || !strings.Contains(err.Error(), "--tor") {
		t.Fatalf("onion gateway without transport: %v", err)
	}
	c, err := LoadClientTransport(path, TransportTor)
	if err != nil || !c.IsTor() {
		t.Fatalf("LoadClientTransport(tor): %+v, %v", c, err)
	}
	direct := writeFile(t, `gateways = ["`+testBootstrap+`"]`+"\n")
	if _, err := LoadClientTransport(direct, TransportTor); err == nil || !strings.Contains(err.Error(), "/onion3") {
		t.Fatalf("--tor with a direct gateway: %v", err)
	}
}

func TestNodeOnion(t *testing.T) {
	n := DefaultNode()
	n.DataDir = t.TempDir()
	n.Onion = true
	if err := n.Validate(); err != nil {
		t.Fatalf("onion with the default TCP listener: %v", err)
	}
	n.ListenAddrs = []string{"/ip4/0.0.0.0/udp/7700/quic-v1"}
	if err := n.Validate(); err == nil || !strings.Contains(err.Error(), "onion") {
		t.Fatalf("onion with only QUIC: %v", err)
	}
	n.Onion = false
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
}
