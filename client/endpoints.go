package client

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// Several endpoints (cluster mode): New("a:7443,b:7443,c:7443") gives one
// connection over every node. grpc's round_robin policy keeps a
// sub-connection to each node and sends each call to the next ready one, so
// calls spread over the nodes and skip a dead one; the addresses come from a
// static (manual) resolver, since there is no name to look up. A stream
// broken by its node's death fails with Unavailable; the ingest helper and
// Watch reopen it, and the reopened stream goes to a node that is up. Every
// node serves the same revisions, so Watch resumes from its position with
// nothing lost or repeated.

// splitEndpoints returns the addresses in addr, a comma-separated list.
func splitEndpoints(addr string) []string {
	var out []string
	for _, a := range strings.Split(addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

var resolverSeq atomic.Uint64

// multiTarget returns the dial target and options for several addresses.
func multiTarget(addrs []string, secure bool) (string, []grpc.DialOption) {
	scheme := fmt.Sprintf("computescale-endpoints-%d", resolverSeq.Add(1))
	r := manual.NewBuilderWithScheme(scheme)
	state := resolver.State{}
	for _, a := range addrs {
		state.Endpoints = append(state.Endpoints, resolver.Endpoint{Addresses: []resolver.Address{{Addr: a}}})
	}
	r.InitialState(state)
	opts := []grpc.DialOption{grpc.WithResolvers(r)}
	if secure {
		// The certificate is checked against the first address's host; the
		// nodes of a cluster share a name (or a certificate with every name).
		host, _, err := net.SplitHostPort(addrs[0])
		if err != nil {
			host = addrs[0]
		}
		opts = append(opts, grpc.WithAuthority(host))
	}
	return scheme + ":///computescale", opts
}

// roundRobin prepends the round_robin policy to a service config.
func roundRobin(serviceConfig string) string {
	return strings.Replace(serviceConfig, `{"methodConfig"`, `{"loadBalancingConfig": [{"round_robin": {}}], "methodConfig"`, 1)
}
