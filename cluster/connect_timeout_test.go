package cluster

import (
	"net"
	"testing"
	"time"
)

// An engine address that accepts connections and then never answers (a
// hung proxy, a half-dead manager) makes Connect fail within the request
// timeout instead of hanging the pass.
func TestConnectToAStalledEngineTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	old := RequestTimeout
	RequestTimeout = 300 * time.Millisecond
	defer func() { RequestTimeout = old }()
	began := time.Now()
	_, err = Connect(t.Context(), Options{Host: "tcp://" + l.Addr().String()})
	if err == nil {
		t.Fatal("Connect to an engine that never answers succeeded")
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("Connect took %s, want it bounded by the request timeout", took)
	}
}
